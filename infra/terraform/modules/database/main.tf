# RDS for PostgreSQL: the shop's source of truth. Private, encrypted, TLS
# enforced, Multi-AZ switchable, its password generated and kept in Secrets
# Manager together with the full connection URL the shop reads.

# Letters, digits and the URL-safe - _ ~ only, so the password can sit in a
# postgres:// URL without escaping (RDS forbids / @ " and space anyway).
#
# Ephemeral: generated during apply and handed to RDS (password_wo) and to the
# secret (secret_string_wo), both write-only, so the password is in neither
# the plan nor the state. Both are sent only when password_version changes:
# bump it to rotate (README: Rotating the database password).
ephemeral "random_password" "master" {
  length           = 40
  special          = true
  override_special = "-_~"
  min_lower        = 4
  min_upper        = 4
  min_numeric      = 4
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of the ${var.name} database"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-postgres-"
  description = "RDS ${var.name}: PostgreSQL port open to the app only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-postgres" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_app" {
  # count, not for_each: the IDs are unknown until the app's group exists.
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the app"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = var.tags
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-${var.parameter_group_family}"
  family      = var.parameter_group_family
  description = "Shop database: TLS only"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name             = var.database_name
  username            = var.username
  password_wo         = ephemeral.random_password.master.result
  password_wo_version = var.password_version
  port                = 5432

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  backup_retention_period    = var.backup_retention_days
  backup_window              = var.backup_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  copy_tags_to_snapshot      = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = var.skip_final_snapshot
  final_snapshot_identifier  = var.skip_final_snapshot ? null : "${var.name}-final"
  apply_immediately          = var.apply_immediately

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  # IAM database authentication is allowed next to the password (the shop
  # uses the password; an operator can sign in with IAM credentials).
  iam_database_authentication_enabled = true

  # 7 days of Performance Insights are free of charge.
  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  performance_insights_kms_key_id       = var.kms_key_arn

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.max_allocated_storage_gb >= var.allocated_storage_gb
      error_message = "max_allocated_storage_gb must be at least allocated_storage_gb."
    }
  }
}

# Standard RDS secret fields plus "url", the value of SHOP_DATABASE_URL. The
# task definition picks that one key (valueFrom "<arn>:url::").
resource "aws_secretsmanager_secret" "this" {
  name_prefix             = "${var.name}/postgres-"
  description             = "Credentials and connection URL of the ${var.name} PostgreSQL database"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id = aws_secretsmanager_secret.this.id
  # Written from the same ephemeral password as the instance in the same apply.
  secret_string_wo_version = var.password_version
  secret_string_wo = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.database_name
    username = var.username
    password = ephemeral.random_password.master.result
    url      = format("postgres://%s:%s@%s:%d/%s?sslmode=require", var.username, ephemeral.random_password.master.result, aws_db_instance.this.address, aws_db_instance.this.port, var.database_name)
  })

  lifecycle {
    # A replaced instance is created with this apply's password: write the
    # secret again in the same apply, or the two would disagree.
    replace_triggered_by = [aws_db_instance.this.id]
  }
}

# ---------------------------------------------------------------- alarms

locals {
  db_alarms = {
    cpu = {
      metric    = "CPUUtilization", statistic = "Average", operator = "GreaterThanThreshold"
      threshold = var.alarm_cpu_threshold_percent
      text      = "CPU above ${var.alarm_cpu_threshold_percent}% for 15 minutes"
    }
    free-storage = {
      metric    = "FreeStorageSpace", statistic = "Minimum", operator = "LessThanThreshold"
      threshold = var.alarm_free_storage_gb * 1024 * 1024 * 1024
      text      = "Less than ${var.alarm_free_storage_gb} GiB of free storage (autoscaling stops at max_allocated_storage_gb)"
    }
    connections = {
      metric    = "DatabaseConnections", statistic = "Maximum", operator = "GreaterThanThreshold"
      threshold = var.alarm_connections
      text      = "More than ${var.alarm_connections} connections for 15 minutes"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "db" {
  for_each = local.db_alarms

  alarm_name          = "${var.name}-db-${each.key}"
  alarm_description   = "Database ${var.name}: ${each.value.text}"
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  dimensions          = { DBInstanceIdentifier = aws_db_instance.this.identifier }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 3
  comparison_operator = each.value.operator
  threshold           = each.value.threshold
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
