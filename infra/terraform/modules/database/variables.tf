variable "name" {
  type        = string
  description = "DB instance identifier, also the name prefix of every resource of the module."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,50}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-52 characters: lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "vpc_id" {
  type        = string
  description = "ID of the VPC that holds the database and its security group."

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-…)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnet IDs for the DB subnet group, in at least two availability zones."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : startswith(s, "subnet-")])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-…), in different availability zones."
  }
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups (the app's tasks) allowed to connect to PostgreSQL. Nothing else gets ingress."

  validation {
    condition     = length(var.allowed_security_group_ids) >= 1 && alltrue([for s in var.allowed_security_group_ids : startswith(s, "sg-")])
    error_message = "allowed_security_group_ids must hold at least one security group ID (sg-…)."
  }
}

variable "engine_version" {
  type        = string
  description = "PostgreSQL major (\"16\") or major.minor version. Must belong to parameter_group_family."
  default     = "16"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must look like 16 or 16.4."
  }
}

variable "parameter_group_family" {
  type        = string
  description = "DB parameter group family matching engine_version, for example postgres16."
  default     = "postgres16"

  validation {
    condition     = can(regex("^postgres[0-9]+$", var.parameter_group_family))
    error_message = "parameter_group_family must look like postgres16."
  }
}

variable "instance_class" {
  type        = string
  description = "DB instance class, for example db.t4g.micro (demo) or db.r7g.large."
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class (db.…)."
  }
}

variable "allocated_storage_gb" {
  type        = number
  description = "Initial gp3 storage in GiB."
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be from 20 to 65536."
  }
}

variable "max_allocated_storage_gb" {
  type        = number
  description = "Upper bound for storage autoscaling in GiB (must be at least allocated_storage_gb)."
  default     = 100

  validation {
    condition     = var.max_allocated_storage_gb >= 20
    error_message = "max_allocated_storage_gb must be at least 20."
  }
}

variable "multi_az" {
  type        = bool
  description = "Run a synchronous standby in a second availability zone (doubles the instance cost)."
  default     = true
}

variable "database_name" {
  type        = string
  description = "Name of the database the shop uses."
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and hold only lower-case letters, digits and underscores."
  }
}

variable "username" {
  type        = string
  description = "Master user name (its password is generated and stored in Secrets Manager)."
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.username)) && !contains(["admin", "postgres", "rdsadmin"], var.username)
    error_message = "username must start with a letter, hold only lower-case letters, digits and underscores, and not be a reserved name."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery) kept."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be from 1 to 35."
  }
}

variable "backup_window" {
  type        = string
  description = "Daily backup window in UTC, hh24:mi-hh24:mi. Must not overlap maintenance_window."
  default     = "02:00-02:30"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must be hh24:mi-hh24:mi."
  }
}

variable "maintenance_window" {
  type        = string
  description = "Weekly maintenance window in UTC, ddd:hh24:mi-ddd:hh24:mi."
  default     = "sun:06:00-sun:07:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must be ddd:hh24:mi-ddd:hh24:mi."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for storage, Performance Insights and the secret. null: AWS managed keys (encryption stays on either way)."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the instance (set false and apply before terraform destroy)."
  default     = true
}

variable "password_version" {
  type        = number
  description = "Version of the master password. The password is generated ephemerally and written only when this changes: bump it to rotate the password (the instance and the secret get the new one in the same apply)."
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number from 1."
  }
}

variable "skip_final_snapshot" {
  type        = bool
  description = "Delete without a final snapshot. false keeps <name>-final after destroy (remove it by hand when no longer needed)."
  default     = false
}

variable "apply_immediately" {
  type        = bool
  description = "Apply changes now instead of in the next maintenance window."
  default     = false
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days Secrets Manager keeps the credentials secret after destroy before deleting it (0 deletes at once, else 7-30)."
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
  description = "ARNs (usually one SNS topic) notified when a database alarm fires or clears. At least one."

  validation {
    condition     = length(var.alarm_actions) >= 1 && alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must hold at least one ARN (an SNS topic)."
  }
}

variable "alarm_cpu_threshold_percent" {
  type        = number
  description = "CPUUtilization above which the database alarm fires."
  default     = 80

  validation {
    condition     = var.alarm_cpu_threshold_percent > 0 && var.alarm_cpu_threshold_percent <= 100
    error_message = "alarm_cpu_threshold_percent must be in (0, 100]."
  }
}

variable "alarm_free_storage_gb" {
  type        = number
  description = "Free storage (GiB) below which the database alarm fires."
  default     = 5

  validation {
    condition     = var.alarm_free_storage_gb > 0
    error_message = "alarm_free_storage_gb must be positive."
  }
}

variable "alarm_connections" {
  type        = number
  description = "Connections above which the database alarm fires (db.t4g.micro allows about 80)."
  default     = 60

  validation {
    condition     = var.alarm_connections > 0
    error_message = "alarm_connections must be positive."
  }
}
