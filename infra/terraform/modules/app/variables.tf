variable "name" {
  type        = string
  description = "Name prefix of every resource of the app (ECR repository, ECS cluster and service, load balancer)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-20 characters (load balancer and target group names are limited to 32): lower-case letters, digits and single hyphens."
  }
}

variable "region" {
  type        = string
  description = "AWS region the app runs in (for the awslogs log driver)."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of the VPC the app runs in."

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-…)."
  }
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets for the Application Load Balancer, in at least two availability zones."

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for s in var.public_subnet_ids : startswith(s, "subnet-")])
    error_message = "public_subnet_ids must hold at least two subnet IDs (subnet-…)."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets for the Fargate tasks (they reach ECR, Secrets Manager and CloudWatch Logs through a NAT gateway or VPC endpoints)."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for s in var.private_subnet_ids : startswith(s, "subnet-")])
    error_message = "private_subnet_ids must hold at least two subnet IDs (subnet-…)."
  }
}

variable "image" {
  type        = string
  description = "Full image reference to run. null: <the module's ECR repository>:<image_tag>, where you push the image built from the repository's Dockerfile."
  default     = null
}

variable "image_tag" {
  type        = string
  description = "Tag of the image in the module's ECR repository (ignored when image is set)."
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "desired_count" {
  type        = number
  description = "Number of shop tasks the service keeps running behind the load balancer."
  default     = 2

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 100 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number from 0 to 100."
  }
}

variable "task_cpu" {
  type        = number
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  type        = number
  description = "Fargate task memory in MiB; must be a valid combination with task_cpu."
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be from 512 to 30720 MiB."
  }
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the image: X86_64 or ARM64 (Graviton, cheaper; build the image for linux/arm64)."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "redis_mode" {
  type        = string
  description = "Value of SHOP_REDIS_MODE: standalone (cluster mode disabled) or cluster (cluster mode enabled)."

  validation {
    condition     = contains(["standalone", "cluster"], var.redis_mode)
    error_message = "redis_mode must be standalone or cluster."
  }
}

variable "elasticache_secret_arn" {
  type        = string
  description = "ARN of the secret {\"host\",\"port\",\"auth\",\"reader\"}, injected whole as SHOP_ELASTICACHE_SECRET."
}

variable "database_secret_arn" {
  type        = string
  description = "ARN of the database secret; its url key is injected as SHOP_DATABASE_URL."
}

variable "dependencies" {
  type = map(object({
    security_group_id = string
    port              = number
  }))
  description = "Security groups and ports the tasks may open connections to (the cache, the database). Egress is limited to these plus HTTPS to the VPC endpoints and S3."
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key that encrypts the secrets and logs, if any: the execution role may decrypt with it. null: AWS managed keys."
  default     = null
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (ARN, same region) for the HTTPS listener: port 443 serves the shop with ssl_policy and HSTS, port 80 only redirects to it, SHOP_SESSION_SECURE=true. Required unless allow_plain_http = true."
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."
  }
  validation {
    condition     = var.certificate_arn != null || var.allow_plain_http
    error_message = "HTTPS is the default: set certificate_arn to an ACM certificate, or allow_plain_http = true for a throwaway demo served over plain HTTP."
  }
}

variable "allow_plain_http" {
  type        = bool
  description = "Opt-in for a throwaway demo without a certificate: port 80 forwards to the shop over plain HTTP and session cookies lose the Secure flag. Ignored when certificate_arn is set (port 80 then only redirects)."
  default     = false
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener. Only the TLS 1.3 policies that also allow TLS 1.2 with forward-secret ciphers are accepted."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = contains(["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04", "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04"], var.ssl_policy)
    error_message = "ssl_policy must be a modern TLS 1.3 policy such as ELBSecurityPolicy-TLS13-1-2-2021-06 (older policies allow TLS 1.0/1.1 or CBC ciphers)."
  }
}

variable "account_id" {
  type        = string
  description = "ID of the AWS account the stack runs in: the roles' trust policies let ECS assume them only for tasks of this account (aws:SourceAccount)."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account ID."
  }
}

variable "vpc_endpoint_security_group_id" {
  type        = string
  description = "Security group of the VPC's interface endpoints for ECR (api, dkr), Secrets Manager and CloudWatch Logs: the tasks' only HTTPS egress besides S3."

  validation {
    condition     = startswith(var.vpc_endpoint_security_group_id, "sg-")
    error_message = "vpc_endpoint_security_group_id must be a security group ID (sg-…)."
  }
}

variable "s3_prefix_list_id" {
  type        = string
  description = "Prefix list of the VPC's S3 gateway endpoint (ECR keeps image layers in S3): the tasks' other HTTPS egress."

  validation {
    condition     = startswith(var.s3_prefix_list_id, "pl-")
    error_message = "s3_prefix_list_id must be a prefix list ID (pl-…)."
  }
}

variable "secrets_version" {
  type        = string
  description = "Versions of the secrets the shop reads at start (AUTH token, database password), as SHOP_ROTATION_VERSION: a change makes a new task definition revision, so the service replaces its tasks and each reads the secrets again."
  default     = "1"
}

variable "admin_password_version" {
  type        = number
  description = "Bump to generate a new admin password into its secret (the password never enters the state)."
  default     = 1

  validation {
    condition     = var.admin_password_version >= 1 && floor(var.admin_password_version) == var.admin_password_version
    error_message = "admin_password_version must be a whole number from 1."
  }
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.allowed_ingress_cidrs) >= 1 && alltrue([for c in var.allowed_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_ingress_cidrs must hold at least one valid IPv4 CIDR block."
  }
}

variable "seed" {
  type        = bool
  description = "Value of SHOP_SEED: load the demo catalogue on first start."
  default     = true
}

variable "admin_email" {
  type        = string
  description = "SHOP_ADMIN_EMAIL of an admin account created at start. Its password is generated and injected from Secrets Manager. null: no admin account."
  default     = null

  validation {
    condition     = var.admin_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.admin_email))
    error_message = "admin_email must be an e-mail address or null."
  }
}

variable "environment" {
  type        = map(string)
  description = "Extra plain environment variables for the shop container. Not for secrets: names that look secret are refused."
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.environment) : !can(regex("(?i)(PASSWORD|SECRET|TOKEN|AUTH|DATABASE_URL|REDIS_URL|REDIS_READER_URL)", k))
    ])
    error_message = "environment must not carry secrets or connection strings (names with PASSWORD, SECRET, TOKEN, AUTH, DATABASE_URL, REDIS_URL): they come from Secrets Manager."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the container logs are kept in CloudWatch Logs."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period that CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "ecr_force_delete" {
  type        = bool
  description = "Let terraform destroy delete the ECR repository even when it still holds images (they can be rebuilt from source)."
  default     = true
}

variable "enable_execute_command" {
  type        = bool
  description = "Allow ECS Exec (aws ecs execute-command) into the tasks; grants the task role the SSM channel permissions it needs."
  default     = false
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days Secrets Manager keeps the admin password secret after destroy (0 deletes at once, else 7-30)."
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

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (usually one SNS topic) notified when a load balancer or service alarm fires or clears. At least one."

  validation {
    condition     = length(var.alarm_actions) >= 1 && alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must hold at least one ARN (an SNS topic)."
  }
}

variable "alarm_5xx_per_5_minutes" {
  type        = number
  description = "5xx answers per 5 minutes above which the load balancer alarms fire."
  default     = 10

  validation {
    condition     = var.alarm_5xx_per_5_minutes >= 0
    error_message = "alarm_5xx_per_5_minutes must not be negative."
  }
}

variable "trusted_proxy_cidrs" {
  type        = list(string)
  description = "CIDR blocks the load balancer's nodes connect to the tasks from (usually the VPC's): the shop believes X-Forwarded-For and X-Forwarded-Proto only from them (SHOP_TRUSTED_PROXIES). Empty: the shop sees every client as the load balancer's address, so the per-address sign-in limits are shared by all clients."
  default     = []

  validation {
    condition     = alltrue([for c in var.trusted_proxy_cidrs : can(cidrhost(c, 0))])
    error_message = "trusted_proxy_cidrs must hold CIDR blocks such as 10.40.0.0/16."
  }
}
