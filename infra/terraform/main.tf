# The shop on AWS: a VPC (or yours), ElastiCache for Redis OSS, RDS for
# PostgreSQL and the app on ECS Fargate behind an Application Load Balancer.
#
# The app module creates the tasks' security group; the cache and the
# database accept connections from that group only, and the tasks may open
# connections to theirs. Those references cross modules in both directions
# but not between the same resources, so Terraform sees no cycle.

locals {
  create_vpc                     = var.vpc_id == null
  vpc_id                         = local.create_vpc ? module.network[0].vpc_id : var.vpc_id
  private_subnet_ids             = local.create_vpc ? module.network[0].private_subnet_ids : var.private_subnet_ids
  public_subnet_ids              = local.create_vpc ? module.network[0].public_subnet_ids : var.public_subnet_ids
  vpc_endpoint_security_group_id = local.create_vpc ? module.network[0].vpc_endpoint_security_group_id : var.vpc_endpoint_security_group_id
  s3_prefix_list_id              = local.create_vpc ? module.network[0].s3_prefix_list_id : var.s3_prefix_list_id

  # Every alarm of the stack notifies the topic (and any extra ARNs).
  alarm_actions = concat([aws_sns_topic.alarms.arn], var.alarm_actions)
}

# ---------------------------------------------------------------- alarms reach someone

# CloudWatch can publish to an encrypted topic only with a customer managed
# key whose policy lets it (the AWS managed aws/sns key does not), so without
# kms_key_arn the stack makes one for the topic. With your own kms_key_arn,
# its policy must allow the same two services.
resource "aws_kms_key" "alarms" {
  count = var.kms_key_arn == null ? 1 : 0

  description         = "${var.name}: encrypts the alarm topic; CloudWatch may use it to publish"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchPublishes"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
      {
        Sid       = "ElastiCacheEventsPublish"
        Effect    = "Allow"
        Principal = { Service = "elasticache.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.alarms[0].arn
}

# Each address gets a confirmation mail from AWS; alarms reach it once it is confirmed.
resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

module "network" {
  source = "./modules/network"
  count  = local.create_vpc ? 1 : 0

  name                    = var.name
  region                  = var.region
  account_id              = var.account_id
  cidr_block              = var.vpc_cidr
  availability_zones      = var.availability_zones
  single_nat_gateway      = var.single_nat_gateway
  kms_key_arn             = var.kms_key_arn
  flow_log_retention_days = var.log_retention_days
}

module "elasticache" {
  source = "./modules/elasticache"

  name                       = var.name
  vpc_id                     = local.vpc_id
  subnet_ids                 = local.private_subnet_ids
  allowed_security_group_ids = [module.app.security_group_id]

  cluster_mode_enabled    = var.cluster_mode_enabled
  num_cache_clusters      = var.num_cache_clusters
  num_node_groups         = var.num_node_groups
  replicas_per_node_group = var.replicas_per_node_group

  node_type                   = var.cache_node_type
  engine_version              = var.cache_engine_version
  parameter_group_family      = var.cache_parameter_group_family
  maintenance_window          = var.cache_maintenance_window
  snapshot_window             = var.cache_snapshot_window
  snapshot_retention_limit    = var.cache_snapshot_retention_limit
  kms_key_arn                 = var.kms_key_arn
  log_retention_days          = var.log_retention_days
  alarm_actions               = local.alarm_actions
  notification_topic_arn      = coalesce(var.notification_topic_arn, aws_sns_topic.alarms.arn)
  secret_recovery_window_days = var.secret_recovery_window_days
  auth_token_version          = var.auth_token_version
  auth_token_update_strategy  = var.auth_token_update_strategy
}

module "database" {
  source = "./modules/database"

  name                       = var.name
  vpc_id                     = local.vpc_id
  subnet_ids                 = local.private_subnet_ids
  allowed_security_group_ids = [module.app.security_group_id]

  instance_class              = var.db_instance_class
  engine_version              = var.db_engine_version
  parameter_group_family      = var.db_parameter_group_family
  multi_az                    = var.db_multi_az
  deletion_protection         = var.db_deletion_protection
  skip_final_snapshot         = var.db_skip_final_snapshot
  kms_key_arn                 = var.kms_key_arn
  secret_recovery_window_days = var.secret_recovery_window_days
  password_version            = var.db_password_version
  alarm_actions               = local.alarm_actions
}

module "app" {
  source = "./modules/app"

  name               = var.name
  region             = var.region
  account_id         = var.account_id
  vpc_id             = local.vpc_id
  public_subnet_ids  = local.public_subnet_ids
  private_subnet_ids = local.private_subnet_ids

  image            = var.image
  image_tag        = var.image_tag
  desired_count    = var.desired_count
  task_cpu         = var.task_cpu
  task_memory      = var.task_memory
  cpu_architecture = var.cpu_architecture

  redis_mode             = var.cluster_mode_enabled ? "cluster" : "standalone"
  elasticache_secret_arn = module.elasticache.secret_arn
  database_secret_arn    = module.database.secret_arn
  dependencies = {
    redis = {
      security_group_id = module.elasticache.security_group_id
      port              = module.elasticache.port
    }
    postgres = {
      security_group_id = module.database.security_group_id
      port              = 5432
    }
  }

  vpc_endpoint_security_group_id = local.vpc_endpoint_security_group_id
  s3_prefix_list_id              = local.s3_prefix_list_id
  secrets_version                = "auth${var.auth_token_version}-db${var.db_password_version}"

  certificate_arn             = var.certificate_arn
  allow_plain_http            = var.allow_plain_http
  ssl_policy                  = var.ssl_policy
  alarm_actions               = local.alarm_actions
  allowed_ingress_cidrs       = var.allowed_ingress_cidrs
  seed                        = var.seed
  trusted_proxy_cidrs         = var.trusted_proxy_cidrs != null ? var.trusted_proxy_cidrs : (local.create_vpc ? [var.vpc_cidr] : [])
  admin_email                 = var.admin_email
  kms_key_arn                 = var.kms_key_arn
  log_retention_days          = var.log_retention_days
  secret_recovery_window_days = var.secret_recovery_window_days
}
