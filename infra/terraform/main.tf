# The shop on AWS: a VPC (or yours), ElastiCache for Redis OSS, RDS for
# PostgreSQL and the app on ECS Fargate behind an Application Load Balancer.
#
# The app module creates the tasks' security group; the cache and the
# database accept connections from that group only, and the tasks may open
# connections to theirs. Those references cross modules in both directions
# but not between the same resources, so Terraform sees no cycle.

locals {
  create_vpc         = var.vpc_id == null
  vpc_id             = local.create_vpc ? module.network[0].vpc_id : var.vpc_id
  private_subnet_ids = local.create_vpc ? module.network[0].private_subnet_ids : var.private_subnet_ids
  public_subnet_ids  = local.create_vpc ? module.network[0].public_subnet_ids : var.public_subnet_ids
}

module "network" {
  source = "./modules/network"
  count  = local.create_vpc ? 1 : 0

  name               = var.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
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
  alarm_actions               = var.alarm_actions
  notification_topic_arn      = var.notification_topic_arn
  secret_recovery_window_days = var.secret_recovery_window_days
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
}

module "app" {
  source = "./modules/app"

  name               = var.name
  region             = var.region
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

  certificate_arn             = var.certificate_arn
  allowed_ingress_cidrs       = var.allowed_ingress_cidrs
  seed                        = var.seed
  admin_email                 = var.admin_email
  kms_key_arn                 = var.kms_key_arn
  log_retention_days          = var.log_retention_days
  secret_recovery_window_days = var.secret_recovery_window_days
}
