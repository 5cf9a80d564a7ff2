# ---------------------------------------------------------------- where

variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  type        = string
  description = "Name of the deployment: prefix of every resource (ECS cluster, load balancer, replication group, DB instance)."
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-20 characters: lower-case letters, digits and single hyphens, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (through the provider's default_tags)."
  default     = {}
}

# ---------------------------------------------------------------- network

variable "availability_zones" {
  type        = list(string)
  description = "Two or three availability zones of region for the new VPC (for example [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]). Ignored when vpc_id is set."
  default     = []

  validation {
    condition     = var.vpc_id != null || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3)
    error_message = "Without vpc_id, availability_zones must list two or three zones of the region."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the new VPC. Ignored when vpc_id is set."
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  type        = bool
  description = "New VPC only: one shared NAT gateway (cheaper) instead of one per availability zone."
  default     = true
}

variable "vpc_id" {
  type        = string
  description = "Deploy into this existing VPC instead of creating one. Then public_subnet_ids and private_subnet_ids are required."
  default     = null

  validation {
    condition     = var.vpc_id == null || (length(var.private_subnet_ids) >= 2 && length(var.public_subnet_ids) >= 2)
    error_message = "With vpc_id, give at least two private_subnet_ids and two public_subnet_ids in different availability zones."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Existing VPC only: private subnets (with a route to a NAT gateway) for the tasks, the cache and the database."
  default     = []
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Existing VPC only: public subnets for the load balancer."
  default     = []
}

# ---------------------------------------------------------------- cache

variable "cluster_mode_enabled" {
  type        = bool
  description = "false: one shard with a primary and replicas (num_cache_clusters nodes). true: num_node_groups shards × (1 + replicas_per_node_group) nodes, and the shop runs with SHOP_REDIS_MODE=cluster."
  default     = false
}

variable "num_cache_clusters" {
  type        = number
  description = "Cluster mode disabled: nodes in the replication group, primary included (2-6)."
  default     = 2
}

variable "num_node_groups" {
  type        = number
  description = "Cluster mode enabled: number of shards."
  default     = 2
}

variable "replicas_per_node_group" {
  type        = number
  description = "Cluster mode enabled: replicas per shard (1-5)."
  default     = 1
}

variable "cache_node_type" {
  type        = string
  description = "ElastiCache node type."
  default     = "cache.t4g.small"
}

variable "cache_engine_version" {
  type        = string
  description = "Redis OSS engine version."
  default     = "7.1"
}

variable "cache_parameter_group_family" {
  type        = string
  description = "ElastiCache parameter group family matching cache_engine_version."
  default     = "redis7"
}

variable "cache_maintenance_window" {
  type        = string
  description = "Weekly cache maintenance window (UTC), ddd:hh24:mi-ddd:hh24:mi."
  default     = "sun:05:00-sun:06:00"
}

variable "cache_snapshot_window" {
  type        = string
  description = "Daily cache snapshot window (UTC), hh24:mi-hh24:mi."
  default     = "03:00-04:00"
}

variable "cache_snapshot_retention_limit" {
  type        = number
  description = "Days of cache snapshots kept."
  default     = 7
}

# ---------------------------------------------------------------- database

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  type        = string
  description = "PostgreSQL version (major or major.minor)."
  default     = "16"
}

variable "db_parameter_group_family" {
  type        = string
  description = "DB parameter group family matching db_engine_version."
  default     = "postgres16"
}

variable "db_multi_az" {
  type        = bool
  description = "Run the database with a standby in a second availability zone."
  default     = true
}

variable "db_deletion_protection" {
  type        = bool
  description = "Protect the database from deletion (turn off before terraform destroy)."
  default     = false
}

variable "db_skip_final_snapshot" {
  type        = bool
  description = "Destroy the database without a final snapshot."
  default     = false
}

# ---------------------------------------------------------------- app

variable "image" {
  type        = string
  description = "Full image reference of the shop. null: the ECR repository this configuration creates, tag image_tag."
  default     = null
}

variable "image_tag" {
  type        = string
  description = "Tag of the shop image in the ECR repository."
  default     = "latest"
}

variable "desired_count" {
  type        = number
  description = "Number of shop tasks behind the load balancer."
  default     = 2
}

variable "task_cpu" {
  type        = number
  description = "Fargate CPU units per task."
  default     = 512
}

variable "task_memory" {
  type        = number
  description = "Fargate memory (MiB) per task."
  default     = 1024
}

variable "cpu_architecture" {
  type        = string
  description = "X86_64 or ARM64: the platform the image was built for."
  default     = "X86_64"
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in region) for HTTPS on the load balancer. null: HTTP only, session cookies without the Secure flag — a demo only."
  default     = null
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  default     = ["0.0.0.0/0"]
}

variable "seed" {
  type        = bool
  description = "Load the demo catalogue on first start (SHOP_SEED)."
  default     = true
}

variable "admin_email" {
  type        = string
  description = "E-mail of an admin account to create; its password is generated into Secrets Manager. null: none."
  default     = null
}

# ---------------------------------------------------------------- operations

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the cache, the database, the secrets and the logs. null: AWS managed keys (everything is still encrypted)."
  default     = null
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (for example an SNS topic) notified by the cache alarms."
  default     = []
}

variable "notification_topic_arn" {
  type        = string
  description = "SNS topic for ElastiCache events (failovers, maintenance). null: none."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the container, slow and engine logs."
  default     = 30
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a destroyed secret can still be restored (0: deleted at once, which lets you re-create the stack under the same name right away)."
  default     = 7
}
