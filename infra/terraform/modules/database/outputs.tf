output "address" {
  description = "Host name of the database instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the shop's database."
  value       = var.database_name
}

output "instance_arn" {
  description = "ARN of the database instance."
  value       = aws_db_instance.this.arn
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.this.id
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding engine, host, port, dbname, username, password and url."
  value       = aws_secretsmanager_secret.this.arn
}

output "url_secret_value_from" {
  description = "ECS valueFrom that selects the url key of the secret: the source of SHOP_DATABASE_URL."
  value       = "${aws_secretsmanager_secret.this.arn}:url::"
}
