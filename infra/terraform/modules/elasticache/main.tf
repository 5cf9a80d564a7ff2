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

# Windows in minutes of the week (Monday 00:00 = 0), for the precondition that
# the daily snapshot window never meets the weekly maintenance window. A
# malformed window counts as no overlap here: its format validation says why.
locals {
  days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

  snapshot_start   = try(tonumber(substr(var.snapshot_window, 0, 2)) * 60 + tonumber(substr(var.snapshot_window, 3, 2)), 0)
  snapshot_end     = try(tonumber(substr(var.snapshot_window, 6, 2)) * 60 + tonumber(substr(var.snapshot_window, 9, 2)), 60)
  snapshot_minutes = (local.snapshot_end - local.snapshot_start + 1440) % 1440

  maintenance_start     = try(index(local.days, substr(var.maintenance_window, 0, 3)) * 1440 + tonumber(substr(var.maintenance_window, 4, 2)) * 60 + tonumber(substr(var.maintenance_window, 7, 2)), -1)
  maintenance_end_clock = try(index(local.days, substr(var.maintenance_window, 10, 3)) * 1440 + tonumber(substr(var.maintenance_window, 14, 2)) * 60 + tonumber(substr(var.maintenance_window, 17, 2)), -1)
  maintenance_end       = local.maintenance_end_clock > local.maintenance_start ? local.maintenance_end_clock : local.maintenance_end_clock + 10080

  # Two weeks of daily snapshot windows against the maintenance window and its
  # copy a week later (a window may wrap from Sunday into Monday).
  window_overlap = local.maintenance_start < 0 || local.maintenance_end_clock < 0 ? false : anytrue(flatten([
    for shift in [0, 10080] : [
      for d in range(15) :
      d * 1440 + local.snapshot_start < local.maintenance_end + shift && local.maintenance_start + shift < d * 1440 + local.snapshot_start + local.snapshot_minutes
    ]
  ]))
}

# ---------------------------------------------------------------- AUTH token

# Generated here and handed only to the replication group and the secret: it
# is never a variable, so it can't leak through a tfvars file or a CI log.
# ElastiCache accepts 16-128 printable characters and, of the special ones,
# only ! & # $ ^ < > - (no @, ", / or space).
#
# The one secret that stays in the state: aws_elasticache_replication_group
# has no write-only auth_token (aws provider 5.100), so the token is in the
# state as this result, the group's argument and the secret. Keep the state in
# an encrypted, access-controlled backend (README: State).
#
# auth_token_version is the rotation handle: a new version generates a new
# token; with auth_token_update_strategy = "ROTATE" ElastiCache accepts the old
# and the new one until a second apply with "SET" (README: Rotating the AUTH
# token).
resource "random_password" "auth" {
  keepers = {
    version = var.auth_token_version
  }

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

# The mode the replication group was created in. ignore_changes keeps it when
# cluster_mode_enabled changes, so the precondition below can refuse the
# change: AWS converts a group from disabled to enabled only through the
# "compatible" mode with client changes in between, and never back. To switch
# deliberately, replace this resource, which replaces the group (a new, empty
# cache): terraform apply -replace=module.elasticache.terraform_data.cluster_mode
resource "terraform_data" "cluster_mode" {
  input = local.cluster_mode

  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  cluster_mode = var.cluster_mode_enabled ? "enabled" : "disabled"
}

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
  cluster_mode            = local.cluster_mode
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
  # ROTATE: a new token is added and the old one stays valid while the tasks
  # restart with the new secret; SET then drops the old one.
  auth_token_update_strategy = var.auth_token_update_strategy

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
    # Checked here rather than in the variables' validations, which can't use
    # locals computed from the variable they validate.
    precondition {
      condition     = local.snapshot_minutes >= 60
      error_message = "snapshot_window must be at least 60 minutes long."
    }
    precondition {
      condition     = !local.window_overlap
      error_message = "snapshot_window overlaps maintenance_window on the day of the maintenance: ElastiCache refuses overlapping windows."
    }
    precondition {
      condition     = terraform_data.cluster_mode.output == local.cluster_mode
      error_message = "cluster_mode_enabled changed on an existing replication group. AWS cannot switch it in place (disabled to enabled only through \"compatible\" mode, never back). To replace the group with a new, empty one in the new mode, run terraform apply -replace=module.elasticache.terraform_data.cluster_mode; otherwise set cluster_mode_enabled back."
    }
    replace_triggered_by = [terraform_data.cluster_mode]
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

# One alarm per node and metric. Member cluster IDs follow a fixed scheme, so
# they are planned before the group exists.
locals {
  node_alarms = {
    engine-cpu = {
      metric    = "EngineCPUUtilization", statistic = "Average", period = 300, periods = 3
      threshold = var.alarm_cpu_threshold_percent, missing = "missing"
      text      = "Redis engine thread CPU above ${var.alarm_cpu_threshold_percent}% for 15 minutes"
    }
    host-cpu = {
      metric    = "CPUUtilization", statistic = "Average", period = 300, periods = 3
      threshold = var.alarm_host_cpu_threshold_percent, missing = "missing"
      text      = "Host CPU above ${var.alarm_host_cpu_threshold_percent}% for 15 minutes"
    }
    memory = {
      metric    = "DatabaseMemoryUsagePercentage", statistic = "Average", period = 300, periods = 3
      threshold = var.alarm_memory_threshold_percent, missing = "missing"
      text      = "Memory above ${var.alarm_memory_threshold_percent}% of maxmemory for 15 minutes"
    }
    evictions = {
      metric    = "Evictions", statistic = "Sum", period = 300, periods = 3
      threshold = var.alarm_evictions_per_5_minutes, missing = "notBreaching"
      text      = "More than ${var.alarm_evictions_per_5_minutes} evictions per 5 minutes for 15 minutes: the cache is too small"
    }
    connections = {
      metric    = "CurrConnections", statistic = "Maximum", period = 300, periods = 2
      threshold = var.alarm_connections, missing = "missing"
      text      = "More than ${var.alarm_connections} client connections for 10 minutes"
    }
    # ReplicationLag is only reported by replicas. Which node is a replica
    # changes with every failover, so every node gets the alarm and a missing
    # metric (the current primary) counts as fine.
    replication-lag = {
      metric    = "ReplicationLag", statistic = "Maximum", period = 60, periods = 5
      threshold = var.alarm_replication_lag_seconds, missing = "notBreaching"
      text      = "Replica more than ${var.alarm_replication_lag_seconds}s behind its primary for 5 minutes"
    }
  }
  node_alarm_pairs = {
    for pair in setproduct(local.node_ids, keys(local.node_alarms)) : "${pair[0]}-${pair[1]}" => {
      node  = pair[0]
      alarm = local.node_alarms[pair[1]]
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "node" {
  for_each = local.node_alarm_pairs

  alarm_name          = each.key
  alarm_description   = "${each.value.node}: ${each.value.alarm.text}"
  namespace           = "AWS/ElastiCache"
  metric_name         = each.value.alarm.metric
  dimensions          = { CacheClusterId = each.value.node }
  statistic           = each.value.alarm.statistic
  period              = each.value.alarm.period
  evaluation_periods  = each.value.alarm.periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.alarm.threshold
  treat_missing_data  = each.value.alarm.missing
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags

  depends_on = [aws_elasticache_replication_group.this]
}
