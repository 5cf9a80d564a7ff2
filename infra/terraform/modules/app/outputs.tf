output "url" {
  description = "URL of the shop (the load balancer's DNS name; HTTPS when a certificate is set — point your own DNS name at it)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "load_balancer_dns_name" {
  description = "DNS name of the Application Load Balancer."
  value       = aws_lb.this.dns_name
}

output "security_group_id" {
  description = "ID of the shop tasks' security group: the only source the cache and the database accept."
  value       = aws_security_group.app.id
}

output "ecr_repository_url" {
  description = "URL of the ECR repository to push the shop image to."
  value       = aws_ecr_repository.this.repository_url
}

output "image" {
  description = "Image reference the task definition runs."
  value       = local.image
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "task_definition_family" {
  description = "Family of the shop's task definition (for one-off tasks such as shop migrate or shop seed)."
  value       = aws_ecs_task_definition.this.family
}

output "log_group_name" {
  description = "CloudWatch log group of the shop containers."
  value       = aws_cloudwatch_log_group.this.name
}

output "admin_password_secret_arn" {
  description = "ARN of the secret holding the admin password, or null when admin_email is not set."
  value       = local.admin ? aws_secretsmanager_secret.admin[0].arn : null
}
