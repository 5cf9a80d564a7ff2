output "replication_group_id" {
  description = "ID of the replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "replication_group_arn" {
  description = "ARN of the replication group."
  value       = aws_elasticache_replication_group.this.arn
}

output "cluster_mode_enabled" {
  description = "Whether the replication group runs in cluster mode (the shop then needs SHOP_REDIS_MODE=cluster)."
  value       = var.cluster_mode_enabled
}

output "primary_endpoint_address" {
  description = "Primary (write) endpoint; cluster mode disabled only, empty otherwise."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "Reader endpoint, spreading reads over the replicas; cluster mode disabled only, empty otherwise."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "configuration_endpoint_address" {
  description = "Configuration endpoint; cluster mode enabled only, empty otherwise."
  value       = aws_elasticache_replication_group.this.configuration_endpoint_address
}

output "port" {
  description = "Port the cache listens on (TLS)."
  value       = var.port
}

output "member_clusters" {
  description = "IDs of the nodes (member cache clusters) of the replication group."
  value       = aws_elasticache_replication_group.this.member_clusters
}

output "security_group_id" {
  description = "ID of the cache's security group."
  value       = aws_security_group.this.id
}

output "parameter_group_name" {
  description = "Name of the parameter group in use."
  value       = aws_elasticache_parameter_group.this.name
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding {\"host\",\"port\",\"auth\",\"reader\"}: the value of SHOP_ELASTICACHE_SECRET."
  value       = aws_secretsmanager_secret.this.arn
}

output "log_group_names" {
  description = "CloudWatch log groups of the slow log and the engine log."
  value = {
    slow_log   = aws_cloudwatch_log_group.slow.name
    engine_log = aws_cloudwatch_log_group.engine.name
  }
}
