output "shop_url" {
  description = "Where the shop answers (the load balancer; a few minutes after apply, once the tasks pass /readyz)."
  value       = module.app.url
}

output "ecr_repository_url" {
  description = "ECR repository to push the shop image to (docker push <this>:<image_tag>)."
  value       = module.app.ecr_repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster running the shop."
  value       = module.app.ecs_cluster_name
}

output "ecs_service_name" {
  description = "ECS service of the shop (aws ecs update-service --force-new-deployment after pushing a new image)."
  value       = module.app.ecs_service_name
}

output "redis_mode" {
  description = "SHOP_REDIS_MODE the tasks run with: standalone or cluster."
  value       = var.cluster_mode_enabled ? "cluster" : "standalone"
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint (cluster mode disabled; empty in cluster mode)."
  value       = module.elasticache.primary_endpoint_address
}

output "redis_reader_endpoint" {
  description = "ElastiCache reader endpoint (cluster mode disabled; empty in cluster mode)."
  value       = module.elasticache.reader_endpoint_address
}

output "redis_configuration_endpoint" {
  description = "ElastiCache configuration endpoint (cluster mode enabled; empty otherwise)."
  value       = module.elasticache.configuration_endpoint_address
}

output "redis_port" {
  description = "ElastiCache port (TLS, AUTH required)."
  value       = module.elasticache.port
}

output "elasticache_secret_arn" {
  description = "Secrets Manager secret {\"host\",\"port\",\"auth\",\"reader\"} injected as SHOP_ELASTICACHE_SECRET."
  value       = module.elasticache.secret_arn
}

output "database_endpoint" {
  description = "PostgreSQL host name (private)."
  value       = module.database.address
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database credentials; its url key is injected as SHOP_DATABASE_URL."
  value       = module.database.secret_arn
}

output "admin_password_secret_arn" {
  description = "Secrets Manager secret with the admin password (null without admin_email)."
  value       = module.app.admin_password_secret_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the shop containers."
  value       = module.app.log_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (subscribe more endpoints to it)."
  value       = aws_sns_topic.alarms.arn
}

output "vpc_id" {
  description = "VPC the stack runs in."
  value       = local.vpc_id
}
