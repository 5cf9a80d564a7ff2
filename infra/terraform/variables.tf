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

variable "account_id" {
  type        = string
  description = "ID of the AWS account to deploy to (aws sts get-caller-identity --query Account). The provider refuses any other account, and the roles' trust policies name it (aws:SourceAccount)."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit ID of the AWS account to deploy to."
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
  validation {
    condition     = var.vpc_id == null || (var.vpc_endpoint_security_group_id != null && var.s3_prefix_list_id != null)
    error_message = "With vpc_id, give vpc_endpoint_security_group_id and s3_prefix_list_id: the tasks reach ECR, Secrets Manager and CloudWatch Logs only through VPC endpoints."
  }
}

variable "vpc_endpoint_security_group_id" {
  type        = string
  description = "Existing VPC only: security group of its interface endpoints for ECR (api, dkr), Secrets Manager and CloudWatch Logs (private DNS on). A new VPC gets them."
  default     = null
}

variable "s3_prefix_list_id" {
  type        = string
  description = "Existing VPC only: prefix list ID (pl-…) of its S3 gateway endpoint, through which the tasks pull image layers."
  default     = null
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

variable "auth_token_version" {
  type        = number
  description = "Version of the cache's AUTH token: bump it to rotate the token (README: Rotating the AUTH token)."
  default     = 1
}

variable "auth_token_update_strategy" {
  type        = string
  description = "ROTATE (old and new AUTH token both valid, while the tasks restart) or SET (only the current token): ROTATE when bumping auth_token_version, then SET."
  default     = "ROTATE"
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
  description = "Protect the database from deletion (set false and apply before terraform destroy)."
  default     = true
}

variable "db_password_version" {
  type        = number
  description = "Version of the database password, which never enters the state: bump it to generate a new one into the instance and its secret (README: Rotating the database password)."
  default     = 1
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
  description = "ACM certificate (in region) for HTTPS on the load balancer: port 80 then only redirects, cookies are Secure, HSTS is sent. Required unless allow_plain_http = true."
  default     = null

  validation {
    condition     = var.certificate_arn != null || var.allow_plain_http
    error_message = "HTTPS is the default: set certificate_arn to an ACM certificate in the region, or allow_plain_http = true for a throwaway demo over plain HTTP."
  }
}

variable "allow_plain_http" {
  type        = bool
  description = "Throwaway demo without a certificate: serve the shop over plain HTTP on port 80 (cookies without the Secure flag). Ignored when certificate_arn is set."
  default     = false
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener (a TLS 1.3 policy; see modules/app)."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
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

variable "alarm_emails" {
  type        = list(string)
  description = "E-mail addresses subscribed to the alarm topic that every alarm notifies (each confirms a mail from AWS first)."
  default     = []

  validation {
    condition     = length(var.alarm_emails) >= 1 || length(var.alarm_actions) >= 1
    error_message = "Alarms must reach someone: give alarm_emails (or alarm_actions with another subscriber of your own)."
  }
  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must hold e-mail addresses."
  }
}

variable "alarm_actions" {
  type        = list(string)
  description = "More ARNs (for example an existing SNS topic or a chatbot) notified by every alarm, besides the stack's alarm topic."
  default     = []
}

variable "notification_topic_arn" {
  type        = string
  description = "SNS topic for ElastiCache events (failovers, maintenance). null: the stack's alarm topic."
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

variable "trusted_proxy_cidrs" {
  type        = list(string)
  description = "Where the load balancer connects to the tasks from, for SHOP_TRUSTED_PROXIES. Default: the new VPC's CIDR; with vpc_id set, give the VPC's CIDR blocks here."
  default     = null
}
