# terraform init && terraform test   (in modules/database; check.sh runs it in CI)
#
# The aws provider is mocked; random is real, and its password is ephemeral:
# these runs check that it reaches RDS and the secret only write-only.

mock_provider "aws" {
  mock_resource "aws_db_instance" {
    defaults = {
      id      = "db-MOCKRESOURCEID0000000000"
      address = "shop.abcdefghijkl.eu-west-1.rds.amazonaws.com"
      port    = 5432
    }
  }
}

variables {
  name                       = "shop"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
  alarm_actions              = ["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]
}

run "private_encrypted_and_protected" {
  command = plan

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false && aws_db_instance.this.storage_encrypted == true && aws_db_instance.this.multi_az == true
    error_message = "The database is private, encrypted and Multi-AZ by default."
  }
  assert {
    condition     = aws_db_instance.this.deletion_protection == true && aws_db_instance.this.skip_final_snapshot == false && aws_db_instance.this.backup_retention_period >= 1
    error_message = "Deletion protection, a final snapshot and backups are on by default."
  }
  assert {
    condition     = toset([for p in aws_db_parameter_group.this.parameter : "${p.name}=${p.value}"]) == toset(["rds.force_ssl=1", "log_min_duration_statement=500"])
    error_message = "The parameter group forces TLS."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.from_app) == 1 && aws_vpc_security_group_ingress_rule.from_app[0].referenced_security_group_id == "sg-0123456789abcdef0" && aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv6 == null && aws_vpc_security_group_ingress_rule.from_app[0].from_port == 5432 && aws_vpc_security_group_ingress_rule.from_app[0].to_port == 5432
    error_message = "The only way in is port 5432 from the app's security group."
  }
  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["postgresql", "upgrade"])
    error_message = "The PostgreSQL and upgrade logs go to CloudWatch Logs."
  }
  assert {
    condition     = aws_db_instance.this.performance_insights_enabled == true && aws_db_instance.this.iam_database_authentication_enabled == true
    error_message = "Performance Insights and IAM database authentication are on."
  }
}

run "the_password_is_in_no_state" {
  command = apply

  assert {
    condition     = aws_db_instance.this.password == null && aws_db_instance.this.password_wo == null && aws_db_instance.this.password_wo_version == 1 && aws_db_instance.this.manage_master_user_password == null
    error_message = "The master password reaches RDS only through the write-only password_wo (version 1)."
  }
  assert {
    condition     = aws_secretsmanager_secret_version.this.secret_string == null && aws_secretsmanager_secret_version.this.secret_string_wo == null && aws_secretsmanager_secret_version.this.secret_string_wo_version == 1
    error_message = "The credentials reach the secret only through the write-only secret_string_wo (version 1)."
  }
  assert {
    condition     = length(aws_security_group.this.ingress) == 0 && length(aws_security_group.this.egress) == 0
    error_message = "The database's security group has no inline rules."
  }
}

run "rotating_the_password" {
  command = apply

  variables {
    password_version = 2
  }

  assert {
    condition     = aws_db_instance.this.password_wo_version == 2 && aws_secretsmanager_secret_version.this.secret_string_wo_version == 2
    error_message = "A new password_version sends a new password to RDS and to the secret in the same apply."
  }
}

run "alarms_notify_the_topic" {
  command = plan

  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.db : k => "${a.metric_name}:${a.comparison_operator}:${a.threshold}:${a.dimensions.DBInstanceIdentifier}"
      } == {
      cpu          = "CPUUtilization:GreaterThanThreshold:80:shop"
      free-storage = "FreeStorageSpace:LessThanThreshold:5368709120:shop"
      connections  = "DatabaseConnections:GreaterThanThreshold:60:shop"
    }
    error_message = "CPU, free storage and connections of the database each have an alarm."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.db : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"])])
    error_message = "Every database alarm notifies the alarm topic."
  }
}

run "storage_bounds_are_checked" {
  command = plan

  variables {
    allocated_storage_gb     = 50
    max_allocated_storage_gb = 40
  }

  expect_failures = [aws_db_instance.this]
}

run "bad_inputs_are_refused" {
  command = plan

  variables {
    name                       = "Shop"
    vpc_id                     = "shop"
    subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1"]
    allowed_security_group_ids = []
    engine_version             = "latest"
    parameter_group_family     = "mysql8.0"
    instance_class             = "t4g.micro"
    allocated_storage_gb       = 10
    max_allocated_storage_gb   = 10
    database_name              = "Shop-DB"
    username                   = "postgres"
    backup_retention_days      = 0
    backup_window              = "2am"
    maintenance_window         = "sunday"
    password_version           = 0
    alarm_actions              = []
  }

  expect_failures = [
    var.name, var.vpc_id, var.subnet_ids, var.allowed_security_group_ids, var.engine_version,
    var.parameter_group_family, var.instance_class, var.allocated_storage_gb, var.max_allocated_storage_gb,
    var.database_name, var.username, var.backup_retention_days, var.backup_window, var.maintenance_window,
    var.password_version, var.alarm_actions,
  ]
}

run "bad_thresholds_and_retention_are_refused" {
  command = plan

  variables {
    alarm_cpu_threshold_percent = 0
    alarm_free_storage_gb       = 0
    alarm_connections           = 0
    secret_recovery_window_days = 1
  }

  expect_failures = [var.alarm_cpu_threshold_percent, var.alarm_free_storage_gb, var.alarm_connections, var.secret_recovery_window_days]
}
