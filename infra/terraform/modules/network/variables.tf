variable "name" {
  type        = string
  description = "Name prefix for every resource of the network (for example \"shop\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR block of the VPC. Public and private subnets are carved out of it as /20s."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 16
    error_message = "cidr_block must be a valid IPv4 CIDR block of /16 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Two or three availability zone names (for example [\"eu-west-1a\", \"eu-west-1b\"]). One public and one private subnet is created in each. Passed in rather than looked up so the module plans without AWS credentials."

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list two or three distinct zones: Multi-AZ ElastiCache, RDS and the load balancer need at least two."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "true: one NAT gateway shared by all private subnets (cheaper, one AZ is a single point of failure for outbound traffic). false: one NAT gateway per availability zone."
  default     = true
}

variable "region" {
  type        = string
  description = "Region of the VPC: names the services of the VPC endpoints (com.amazonaws.REGION.ecr.api, …)."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "account_id" {
  type        = string
  description = "ID of the AWS account: the flow-log role may be assumed for this account only (aws:SourceAccount)."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account ID."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the VPC flow logs."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period that CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the flow log group. null: an AWS managed key."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
