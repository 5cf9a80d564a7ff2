# Amazon ElastiCache for Redis OSS: one replication group, cluster mode
# disabled (1 primary + replicas) or enabled (shards x replicas), with
# failover, Multi-AZ, encryption at rest and in transit, an AUTH token that
# never appears in a variable, and the connection secret the shop reads.

locals {
  # Member cluster IDs follow a fixed scheme, so the per-node alarms can be
  # planned before the group exists (member_clusters is only known after apply).
  node_ids = var.cluster_mode_enabled ? flatten([
    for shard in range(1, var.num_node_groups + 1) : [
      for node in range(1, var.replicas_per_node_group + 2) : format("%s-%04d-%03d", var.name, shard, node)
    ]
  ]) : [for node in range(1, var.num_cache_clusters + 1) : format("%s-%03d", var.name, node)]

  # A family such as redis7 or redis6.x becomes part of the parameter group's
  # name, so changing it creates a new group next to the old one.
  parameter_group_name = format("%s-%s%s", var.name, replace(var.parameter_group_family, ".", "-"), var.cluster_mode_enabled ? "-cluster" : "")
}

# ---------------------------------------------------------------- AUTH token

# Generated here and handed only to the replication group and the secret: it
# is never a variable, so it can't leak through a tfvars file or a CI log.
# ElastiCache accepts 16-128 printable characters and, of the special ones,
# only ! & # $ ^ < > - (no @, ", / or space).
resource "random_password" "auth" {
  length           = 64
  special          = true
  override_special = "!&#$^<>-"
  min_lower        = 4
  min_upper        = 4
  min_numeric      = 4
}

# ---------------------------------------------------------------- network

resource "aws_elasticache_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of the ${var.name} replication group"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "ElastiCache ${var.name}: Redis port open to the app only"
  vpc_id      = var.vpc_id

  # No inline rules and no egress rule at all: the cache only answers.
  tags = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

# The only way in: the cache port, from the app's security group(s).
resource "aws_vpc_security_group_ingress_rule" "from_app" {
  # count, not for_each: the IDs are unknown until the app's group exists.
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis (TLS) from the app"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = var.tags
}

# ---------------------------------------------------------------- parameters

resource "aws_elasticache_parameter_group" "this" {
  name        = local.parameter_group_name
  family      = var.parameter_group_family
  description = "Shop cache: volatile-lru eviction, expired-key notifications"

  # Every key the shop writes has a TTL, so under memory pressure Redis evicts
  # the least recently used key among those with an expiry.
  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  # Keyspace notifications for expired keys (E = keyevent channel, x = expired),
  # which the shop listens to.
  parameter {
    name  = "notify-keyspace-events"
    value = "Ex"
  }

  parameter {
    name  = "cluster-enabled"
    value = var.cluster_mode_enabled ? "yes" : "no"
  }

  tags = var.tags

  # The group in use can't be deleted: make the new one, switch, then delete.
  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------- logs

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/aws/elasticache/${var.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "engine" {
  name              = "/aws/elasticache/${var.name}/engine-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

# ---------------------------------------------------------------- the cache

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "Shop cache (${var.cluster_mode_enabled ? "cluster mode enabled" : "cluster mode disabled"})"

  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = var.port
  parameter_group_name = aws_elasticache_parameter_group.this.name
  subnet_group_name    = aws_elasticache_subnet_group.this.name
  security_group_ids   = [aws_security_group.this.id]

  # One variable picks the topology. num_cache_clusters conflicts with the
  # two shard arguments, so the unused side is null.
  cluster_mode            = var.cluster_mode_enabled ? "enabled" : "disabled"
  num_cache_clusters      = var.cluster_mode_enabled ? null : var.num_cache_clusters
  num_node_groups         = var.cluster_mode_enabled ? var.num_node_groups : null
  replicas_per_node_group = var.cluster_mode_enabled ? var.replicas_per_node_group : null

  # High availability: a replica in another AZ is promoted when a primary fails.
  automatic_failover_enabled = true
  multi_az_enabled           = true

  # Encryption at rest and in transit (TLS). AUTH needs transit encryption.
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result
  # Provider 6 wants the strategy spelled out whenever auth_token is set.
  # ROTATE keeps the old token valid while clients switch to a new one.
  auth_token_update_strategy = "ROTATE"

  auto_minor_version_upgrade = true
  maintenance_window         = var.maintenance_window
  snapshot_window            = var.snapshot_window
  snapshot_retention_limit   = var.snapshot_retention_limit
  notification_topic_arn     = var.notification_topic_arn
  apply_immediately          = var.apply_immediately

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.engine.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "engine-log"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.node_ids) >= 2
      error_message = "Automatic failover and Multi-AZ need at least two nodes."
    }
  }
}

# ---------------------------------------------------------------- the secret

# The shape the shop reads from SHOP_ELASTICACHE_SECRET (TLS implied):
# {"host", "port", "auth", "reader"}. host is the primary endpoint (cluster
# mode disabled) or the configuration endpoint (enabled); reader is the reader
# endpoint, or "" in cluster mode, where replicas are reached through the
# configuration endpoint.
resource "aws_secretsmanager_secret" "this" {
  name_prefix             = "${var.name}/elasticache-"
  description             = "Connection to the ${var.name} ElastiCache replication group: host, port, auth, reader"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id = aws_secretsmanager_secret.this.id
  secret_string = jsonencode({
    host   = var.cluster_mode_enabled ? aws_elasticache_replication_group.this.configuration_endpoint_address : aws_elasticache_replication_group.this.primary_endpoint_address
    port   = var.port
    auth   = random_password.auth.result
    reader = var.cluster_mode_enabled ? "" : aws_elasticache_replication_group.this.reader_endpoint_address
  })
}

# ---------------------------------------------------------------- alarms

resource "aws_cloudwatch_metric_alarm" "cpu" {
  for_each = toset(local.node_ids)

  alarm_name          = "${each.value}-engine-cpu"
  alarm_description   = "Redis engine thread CPU of ${each.value} above ${var.alarm_cpu_threshold_percent}% for 15 minutes"
  namespace           = "AWS/ElastiCache"
  metric_name         = "EngineCPUUtilization"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_cpu_threshold_percent
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags

  depends_on = [aws_elasticache_replication_group.this]
}

resource "aws_cloudwatch_metric_alarm" "memory" {
  for_each = toset(local.node_ids)

  alarm_name          = "${each.value}-memory"
  alarm_description   = "Redis memory of ${each.value} above ${var.alarm_memory_threshold_percent}% of maxmemory for 15 minutes"
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_memory_threshold_percent
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags

  depends_on = [aws_elasticache_replication_group.this]
}

# ReplicationLag is only reported by replicas. Which node is a replica changes
# with every failover, so every node gets the alarm and a missing metric (the
# current primary) counts as fine.
resource "aws_cloudwatch_metric_alarm" "replication_lag" {
  for_each = toset(local.node_ids)

  alarm_name          = "${each.value}-replication-lag"
  alarm_description   = "Replica ${each.value} more than ${var.alarm_replication_lag_seconds}s behind its primary for 5 minutes"
  namespace           = "AWS/ElastiCache"
  metric_name         = "ReplicationLag"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_replication_lag_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags

  depends_on = [aws_elasticache_replication_group.this]
}
