# terraform init && terraform test   (in modules/elasticache)
#
# at_rest_encryption_enabled is a string in some provider versions and a bool
# in others, hence tostring(...) == "true".
#
# The aws provider is mocked: these runs need no AWS account. random is the
# real provider (it needs no network), so the AUTH token is a real one.

mock_provider "aws" {}

variables {
  name                       = "shop-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  allowed_security_group_ids = ["sg-0123456789abcdef0"]
}

run "cluster_mode_disabled_is_secure_by_default" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 2
    error_message = "The default is 1 primary + 1 replica."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.cluster_mode == "disabled"
    error_message = "cluster_mode must follow cluster_mode_enabled."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "Automatic failover and Multi-AZ must be on."
  }
  assert {
    condition     = tostring(aws_elasticache_replication_group.this.at_rest_encryption_enabled) == "true" && aws_elasticache_replication_group.this.transit_encryption_enabled == true
    error_message = "Encryption at rest and in transit must be on."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.auto_minor_version_upgrade == "true" && aws_elasticache_replication_group.this.snapshot_retention_limit >= 1
    error_message = "Minor upgrades and snapshots must be on."
  }
  assert {
    condition = toset([for p in aws_elasticache_parameter_group.this.parameter : "${p.name}=${p.value}"]) == toset([
      "maxmemory-policy=volatile-lru",
      "notify-keyspace-events=Ex",
      "cluster-enabled=no",
    ])
    error_message = "The parameter group must set volatile-lru, Ex and cluster-enabled=no."
  }
  assert {
    condition     = aws_elasticache_parameter_group.this.family == "redis7" && aws_elasticache_parameter_group.this.name == "shop-test-redis7"
    error_message = "The parameter group's name must carry its family."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.from_app) == 1
    error_message = "There must be exactly one ingress rule, for the app's security group."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_app[0].referenced_security_group_id == "sg-0123456789abcdef0" && aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.from_app[0].from_port == 6379 && aws_vpc_security_group_ingress_rule.from_app[0].to_port == 6379
    error_message = "Ingress must be port 6379 from the app's security group, with no CIDR."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.cpu) == 2 && length(aws_cloudwatch_metric_alarm.memory) == 2 && length(aws_cloudwatch_metric_alarm.replication_lag) == 2
    error_message = "Every node gets a CPU, memory and replication-lag alarm."
  }
  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.cpu), "shop-test-001") && contains(keys(aws_cloudwatch_metric_alarm.cpu), "shop-test-002")
    error_message = "Alarms must name the member clusters <name>-001, <name>-002."
  }
}

run "cluster_mode_enabled_shards_and_replicas" {
  command = plan

  variables {
    cluster_mode_enabled    = true
    num_node_groups         = 3
    replicas_per_node_group = 2
  }

  assert {
    condition     = aws_elasticache_replication_group.this.num_node_groups == 3 && aws_elasticache_replication_group.this.replicas_per_node_group == 2
    error_message = "Shards and replicas must come from the variables."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.cluster_mode == "enabled"
    error_message = "cluster_mode must be enabled."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled && aws_elasticache_replication_group.this.transit_encryption_enabled && tostring(aws_elasticache_replication_group.this.at_rest_encryption_enabled) == "true"
    error_message = "Cluster mode keeps failover, Multi-AZ and both encryptions."
  }
  assert {
    condition     = contains([for p in aws_elasticache_parameter_group.this.parameter : "${p.name}=${p.value}"], "cluster-enabled=yes")
    error_message = "Cluster mode needs cluster-enabled=yes."
  }
  assert {
    condition     = aws_elasticache_parameter_group.this.name == "shop-test-redis7-cluster"
    error_message = "The cluster-mode parameter group gets its own name."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.cpu) == 9 && contains(keys(aws_cloudwatch_metric_alarm.cpu), "shop-test-0003-003")
    error_message = "3 shards × 3 nodes = 9 alarms per metric, named <name>-000s-00n."
  }
}

run "secret_has_the_shape_the_shop_reads" {
  # Mocked apply: the endpoints are fake strings, but the JSON is real.
  command = apply

  assert {
    condition     = join(",", sort(keys(jsondecode(aws_secretsmanager_secret_version.this.secret_string)))) == "auth,host,port,reader"
    error_message = "The secret must hold exactly host, port, auth and reader."
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).auth == random_password.auth.result
    error_message = "auth must be the replication group's AUTH token."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.auth_token == random_password.auth.result
    error_message = "The AUTH token must come from random_password."
  }
  assert {
    condition     = length(random_password.auth.result) >= 16 && length(random_password.auth.result) <= 128 && !can(regex("[@\"/ ]", random_password.auth.result))
    error_message = "The AUTH token must be 16-128 characters without @, \", / or space."
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).port == 6379
    error_message = "port must be the cache port, as a number."
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).host == aws_elasticache_replication_group.this.primary_endpoint_address
    error_message = "host must be the primary endpoint when cluster mode is disabled."
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).reader == aws_elasticache_replication_group.this.reader_endpoint_address
    error_message = "reader must be the reader endpoint when cluster mode is disabled."
  }
}

run "secret_in_cluster_mode_points_at_the_configuration_endpoint" {
  command = apply

  variables {
    cluster_mode_enabled = true
  }

  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).host == aws_elasticache_replication_group.this.configuration_endpoint_address
    error_message = "host must be the configuration endpoint in cluster mode."
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.this.secret_string).reader == ""
    error_message = "reader is empty in cluster mode."
  }
}

run "one_node_is_refused" {
  command = plan

  variables {
    num_cache_clusters = 1
  }

  expect_failures = [var.num_cache_clusters]
}

run "shards_without_replicas_are_refused" {
  command = plan

  variables {
    cluster_mode_enabled    = true
    replicas_per_node_group = 0
  }

  expect_failures = [var.replicas_per_node_group]
}

run "one_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }

  expect_failures = [var.subnet_ids]
}

run "no_app_security_group_is_refused" {
  command = plan

  variables {
    allowed_security_group_ids = []
  }

  expect_failures = [var.allowed_security_group_ids]
}

run "bad_windows_are_refused" {
  command = plan

  variables {
    maintenance_window = "sunday 5am"
    snapshot_window    = "3-4"
  }

  expect_failures = [var.maintenance_window, var.snapshot_window]
}
