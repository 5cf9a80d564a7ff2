variable "name" {
  type        = string
  description = "Replication group ID, also the name prefix of every resource of the module. The member clusters are named <name>-001… (cluster mode disabled) or <name>-0001-001… (enabled)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-40 characters: lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen (ElastiCache replication group ID rules)."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of the VPC that holds the cache and its security group."

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-…)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnet IDs for the cache subnet group, in at least two availability zones (Multi-AZ needs two)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : startswith(s, "subnet-")])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-…), in different availability zones."
  }
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups (the app's tasks) allowed to connect to the cache port. Nothing else gets ingress: there is no CIDR-based rule."

  validation {
    condition     = length(var.allowed_security_group_ids) >= 1 && alltrue([for s in var.allowed_security_group_ids : startswith(s, "sg-")])
    error_message = "allowed_security_group_ids must hold at least one security group ID (sg-…)."
  }
}

variable "cluster_mode_enabled" {
  type        = bool
  description = "false: one shard, a primary and num_cache_clusters - 1 replicas, primary and reader endpoints. true: num_node_groups shards of 1 primary + replicas_per_node_group replicas each, a configuration endpoint, cluster-enabled = yes."
  default     = false
}

variable "num_cache_clusters" {
  type        = number
  description = "Cluster mode disabled only: number of nodes (primary + replicas). At least 2, since automatic failover and Multi-AZ need a replica."
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 2 && var.num_cache_clusters <= 6 && floor(var.num_cache_clusters) == var.num_cache_clusters
    error_message = "num_cache_clusters must be a whole number from 2 to 6: automatic failover needs at least one replica, and a shard holds at most 1 primary + 5 replicas."
  }
}

variable "num_node_groups" {
  type        = number
  description = "Cluster mode enabled only: number of shards (node groups)."
  default     = 2

  validation {
    condition     = var.num_node_groups >= 1 && var.num_node_groups <= 500 && floor(var.num_node_groups) == var.num_node_groups
    error_message = "num_node_groups must be a whole number from 1 to 500."
  }
}

variable "replicas_per_node_group" {
  type        = number
  description = "Cluster mode enabled only: replicas in each shard. At least 1, since automatic failover and Multi-AZ need a replica in every shard."
  default     = 1

  validation {
    condition     = var.replicas_per_node_group >= 1 && var.replicas_per_node_group <= 5 && floor(var.replicas_per_node_group) == var.replicas_per_node_group
    error_message = "replicas_per_node_group must be a whole number from 1 to 5: every shard needs a replica to fail over to."
  }
}

variable "node_type" {
  type        = string
  description = "Cache node type, for example cache.t4g.small (demo) or cache.r7g.large (production)."
  default     = "cache.t4g.small"

  # Current-generation families with the sizes AWS offers in them; an older or
  # made-up type would otherwise fail only when ElastiCache refuses it at apply.
  validation {
    condition     = can(regex("^cache\\.((t4g|t3)\\.(micro|small|medium)|(m5|m6g|m7g|r5|r6g|r7g|c7gn)\\.(large|xlarge|(2|4|8|12|16|24)xlarge)|r6gd\\.(xlarge|(2|4|8|12|16)xlarge))$", var.node_type))
    error_message = "node_type must be a current ElastiCache node type: cache.t4g/t3 .micro/.small/.medium, or cache.m5/m6g/m7g/r5/r6g/r7g/c7gn .large … .24xlarge, or cache.r6gd .xlarge … .16xlarge."
  }
}

variable "engine_version" {
  type        = string
  description = "Redis OSS engine version. Must belong to parameter_group_family."
  default     = "7.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9x]+$", var.engine_version))
    error_message = "engine_version must look like 7.1."
  }
}

variable "parameter_group_family" {
  type        = string
  description = "Parameter group family matching engine_version, for example redis7. The parameter group's name contains it, so a family change creates a new group before the old one is removed."
  default     = "redis7"

  validation {
    condition     = can(regex("^redis[0-9]+(\\.[0-9x]+)?$", var.parameter_group_family))
    error_message = "parameter_group_family must look like redis7."
  }
  # Redis OSS 7.x uses redis7, 6.x redis6.x, 5.0.x redis5.0 (the family of an
  # engine version AWS accepts).
  validation {
    condition = try(var.parameter_group_family == (
      tonumber(split(".", var.engine_version)[0]) >= 7 ? "redis${split(".", var.engine_version)[0]}" :
      tonumber(split(".", var.engine_version)[0]) == 6 ? "redis6.x" :
      "redis${split(".", var.engine_version)[0]}.${split(".", var.engine_version)[1]}"
    ), false)
    error_message = "parameter_group_family does not match engine_version: Redis OSS 7.x needs redis7, 6.x needs redis6.x, 5.0.x needs redis5.0."
  }
}

variable "port" {
  type        = number
  description = "TCP port the cache listens on."
  default     = 6379

  validation {
    condition     = var.port >= 1024 && var.port <= 65535
    error_message = "port must be between 1024 and 65535."
  }
}

variable "maintenance_window" {
  type        = string
  description = "Weekly maintenance window in UTC, ddd:hh24:mi-ddd:hh24:mi. Must not overlap snapshot_window."
  default     = "sun:05:00-sun:06:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must be ddd:hh24:mi-ddd:hh24:mi, for example sun:05:00-sun:06:00."
  }
}

variable "snapshot_window" {
  type        = string
  description = "Daily snapshot window in UTC, hh24:mi-hh24:mi, at least 60 minutes long and clear of maintenance_window (checked by the replication group's preconditions)."
  default     = "03:00-04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.snapshot_window))
    error_message = "snapshot_window must be hh24:mi-hh24:mi, for example 03:00-04:00."
  }
}

variable "snapshot_retention_limit" {
  type        = number
  description = "Days of automatic snapshots kept (1-35)."
  default     = 7

  validation {
    condition     = var.snapshot_retention_limit >= 1 && var.snapshot_retention_limit <= 35
    error_message = "snapshot_retention_limit must be from 1 to 35 days."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for encryption at rest, the secret and the log groups. null: AWS managed keys (encryption stays on either way)."
  default     = null
}

variable "apply_immediately" {
  type        = bool
  description = "Apply changes now instead of in the next maintenance window."
  default     = false
}

variable "log_retention_days" {
  type        = number
  description = "Days the slow log and engine log are kept in CloudWatch Logs."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period that CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (usually one SNS topic) notified when an alarm fires or clears. At least one: an alarm that notifies no one is not an alarm."

  validation {
    condition     = length(var.alarm_actions) >= 1 && alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must hold at least one ARN (an SNS topic)."
  }
}

variable "auth_token_version" {
  type        = number
  description = "Version of the AUTH token: a new number generates a new token (README: Rotating the AUTH token)."
  default     = 1

  validation {
    condition     = var.auth_token_version >= 1 && floor(var.auth_token_version) == var.auth_token_version
    error_message = "auth_token_version must be a whole number from 1."
  }
}

variable "auth_token_update_strategy" {
  type        = string
  description = "How a new AUTH token is applied: ROTATE (the old token stays valid too, while the tasks restart with the new secret) or SET (only the new token; apply with SET after a rotation to retire the old one)."
  default     = "ROTATE"

  validation {
    condition     = contains(["ROTATE", "SET"], var.auth_token_update_strategy)
    error_message = "auth_token_update_strategy must be ROTATE or SET."
  }
}

variable "alarm_host_cpu_threshold_percent" {
  type        = number
  description = "CPUUtilization (the whole host) above which a node's alarm fires."
  default     = 90

  validation {
    condition     = var.alarm_host_cpu_threshold_percent > 0 && var.alarm_host_cpu_threshold_percent <= 100
    error_message = "alarm_host_cpu_threshold_percent must be in (0, 100]."
  }
}

variable "alarm_evictions_per_5_minutes" {
  type        = number
  description = "Evictions per 5 minutes above which a node's alarm fires (volatile-lru evicts when memory is full)."
  default     = 100

  validation {
    condition     = var.alarm_evictions_per_5_minutes >= 0
    error_message = "alarm_evictions_per_5_minutes must not be negative."
  }
}

variable "alarm_connections" {
  type        = number
  description = "CurrConnections above which a node's alarm fires (each shop task keeps a pool)."
  default     = 1000

  validation {
    condition     = var.alarm_connections > 0
    error_message = "alarm_connections must be positive."
  }
}

variable "notification_topic_arn" {
  type        = string
  description = "SNS topic that receives ElastiCache events (failover, node replacement, maintenance). null: none."
  default     = null
}

variable "alarm_cpu_threshold_percent" {
  type        = number
  description = "EngineCPUUtilization (the Redis thread) above which a node's alarm fires."
  default     = 75

  validation {
    condition     = var.alarm_cpu_threshold_percent > 0 && var.alarm_cpu_threshold_percent <= 100
    error_message = "alarm_cpu_threshold_percent must be in (0, 100]."
  }
}

variable "alarm_memory_threshold_percent" {
  type        = number
  description = "DatabaseMemoryUsagePercentage above which a node's alarm fires (volatile-lru evicts near 100)."
  default     = 80

  validation {
    condition     = var.alarm_memory_threshold_percent > 0 && var.alarm_memory_threshold_percent <= 100
    error_message = "alarm_memory_threshold_percent must be in (0, 100]."
  }
}

variable "alarm_replication_lag_seconds" {
  type        = number
  description = "ReplicationLag (seconds a replica is behind its primary) above which a node's alarm fires."
  default     = 30

  validation {
    condition     = var.alarm_replication_lag_seconds > 0
    error_message = "alarm_replication_lag_seconds must be positive."
  }
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days Secrets Manager keeps the connection secret after destroy before deleting it (0 deletes at once, else 7-30)."
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or from 7 to 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
