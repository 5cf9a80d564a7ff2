# terraform init && terraform test   (in modules/elasticache; check.sh runs it in CI)
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
  alarm_actions              = ["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]
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
    condition     = aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv6 == null && aws_vpc_security_group_ingress_rule.from_app[0].prefix_list_id == null
    error_message = "No IPv6 CIDR or prefix list either."
  }
  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.node)) == toset(flatten([
      for n in ["shop-test-001", "shop-test-002"] : [for a in ["engine-cpu", "host-cpu", "memory", "evictions", "connections", "replication-lag"] : "${n}-${a}"]
    ]))
    error_message = "Every node (<name>-001, <name>-002) gets engine CPU, host CPU, memory, evictions, connections and replication-lag alarms."
  }
  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.node : k => "${a.metric_name}/${a.dimensions.CacheClusterId}" if startswith(k, "shop-test-002-")
      } == {
      "shop-test-002-engine-cpu"      = "EngineCPUUtilization/shop-test-002"
      "shop-test-002-host-cpu"        = "CPUUtilization/shop-test-002"
      "shop-test-002-memory"          = "DatabaseMemoryUsagePercentage/shop-test-002"
      "shop-test-002-evictions"       = "Evictions/shop-test-002"
      "shop-test-002-connections"     = "CurrConnections/shop-test-002"
      "shop-test-002-replication-lag" = "ReplicationLag/shop-test-002"
    }
    error_message = "Each alarm watches its metric on its own node."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.node : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"])])
    error_message = "Every cache alarm notifies the alarm topic."
  }
  assert {
    condition = {
      for l in aws_elasticache_replication_group.this.log_delivery_configuration : l.log_type => "${l.destination_type}:${l.destination}:${l.log_format}"
      } == {
      slow-log   = "cloudwatch-logs:/aws/elasticache/shop-test/slow-log:json"
      engine-log = "cloudwatch-logs:/aws/elasticache/shop-test/engine-log:json"
    }
    error_message = "The slow log and the engine log are delivered to their CloudWatch log groups."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.auth_token_update_strategy == "ROTATE" && random_password.auth.keepers["version"] == "1"
    error_message = "AUTH token version 1, applied with ROTATE."
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
    condition     = length(aws_cloudwatch_metric_alarm.node) == 9 * 6 && aws_cloudwatch_metric_alarm.node["shop-test-0003-003-replication-lag"].dimensions.CacheClusterId == "shop-test-0003-003"
    error_message = "3 shards × 3 nodes = 9 nodes × 6 alarms, named after the member clusters <name>-000s-00n."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.node : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"])])
    error_message = "Every cache alarm notifies the alarm topic in cluster mode too."
  }
  assert {
    condition = {
      for l in aws_elasticache_replication_group.this.log_delivery_configuration : l.log_type => "${l.destination_type}:${l.destination}"
      } == {
      slow-log   = "cloudwatch-logs:/aws/elasticache/shop-test/slow-log"
      engine-log = "cloudwatch-logs:/aws/elasticache/shop-test/engine-log"
    }
    error_message = "Cluster mode delivers the slow and engine logs too."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.from_app) == 1 && aws_vpc_security_group_ingress_rule.from_app[0].referenced_security_group_id == "sg-0123456789abcdef0" && aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.from_app[0].cidr_ipv6 == null && aws_vpc_security_group_ingress_rule.from_app[0].from_port == 6379 && aws_vpc_security_group_ingress_rule.from_app[0].to_port == 6379
    error_message = "Cluster mode: ingress is port 6379 from the app's security group only."
  }
}

run "secret_has_the_shape_the_shop_reads" {
  # Mocked apply: the endpoints are fake strings, but the JSON is real.
  command = apply

  assert {
    condition     = length(aws_security_group.this.ingress) == 0 && length(aws_security_group.this.egress) == 0
    error_message = "The cache's security group has no inline rules: its only ingress is the rule from the app's group, and it has no egress."
  }

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
  command   = apply
  state_key = "cluster_mode_enabled"

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
  assert {
    condition     = length(aws_security_group.this.ingress) == 0 && length(aws_security_group.this.egress) == 0
    error_message = "Cluster mode: the cache's security group has no inline rules either."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.transit_encryption_enabled == true && tostring(aws_elasticache_replication_group.this.at_rest_encryption_enabled) == "true" && aws_elasticache_replication_group.this.auth_token == random_password.auth.result
    error_message = "Cluster mode: TLS, encryption at rest and AUTH."
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

# ---------------------------------------------------------------- AUTH token rotation

# Step 1 of a rotation: a new auth_token_version generates a new token, which
# ElastiCache adds next to the old one (ROTATE); the secret holds the new one.
run "rotate_adds_a_new_token" {
  command = apply

  variables {
    auth_token_version = 2
  }

  assert {
    condition     = random_password.auth.keepers["version"] == "2" && aws_elasticache_replication_group.this.auth_token_update_strategy == "ROTATE"
    error_message = "A new version makes a new token, applied with ROTATE so the old one stays valid."
  }
  assert {
    condition     = aws_elasticache_replication_group.this.auth_token == random_password.auth.result && jsondecode(aws_secretsmanager_secret_version.this.secret_string).auth == random_password.auth.result
    error_message = "The group and the secret get the new token in the same apply."
  }
}

# Step 2, once the tasks have restarted with the new secret: SET drops the old
# token. The token itself does not change.
run "set_retires_the_old_token" {
  command = apply

  variables {
    auth_token_version         = 2
    auth_token_update_strategy = "SET"
  }

  assert {
    condition     = random_password.auth.keepers["version"] == "2" && aws_elasticache_replication_group.this.auth_token_update_strategy == "SET"
    error_message = "SET keeps version 2's token and makes it the only one."
  }
}

# ---------------------------------------------------------------- changing the mode

run "created_with_cluster_mode_disabled" {
  command   = apply
  state_key = "mode_switch"

  assert {
    condition     = terraform_data.cluster_mode.output == "disabled" && aws_elasticache_replication_group.this.cluster_mode == "disabled"
    error_message = "The group remembers the mode it was created in."
  }
}

run "switching_the_mode_in_place_is_refused" {
  command   = plan
  state_key = "mode_switch"

  variables {
    cluster_mode_enabled = true
  }

  expect_failures = [aws_elasticache_replication_group.this]
}

run "switching_the_mode_by_replacing_the_group" {
  command   = apply
  state_key = "mode_switch"

  variables {
    cluster_mode_enabled = true
  }

  plan_options {
    replace = [terraform_data.cluster_mode]
  }

  assert {
    condition     = terraform_data.cluster_mode.output == "enabled" && aws_elasticache_replication_group.this.cluster_mode == "enabled" && aws_elasticache_replication_group.this.num_node_groups == 2
    error_message = "Replacing terraform_data.cluster_mode replaces the group in the new mode."
  }
}

# ---------------------------------------------------------------- validations

run "parameter_group_family_must_match_the_engine" {
  command = plan

  variables {
    engine_version         = "6.2"
    parameter_group_family = "redis7"
  }

  expect_failures = [var.parameter_group_family]
}

run "engine_6_with_its_family_is_accepted" {
  command = plan

  variables {
    engine_version         = "6.2"
    parameter_group_family = "redis6.x"
  }

  assert {
    condition     = aws_elasticache_parameter_group.this.family == "redis6.x" && aws_elasticache_parameter_group.this.name == "shop-test-redis6-x"
    error_message = "Redis 6.2 runs with redis6.x."
  }
}

run "malformed_engine_version_is_refused" {
  command = plan

  variables {
    engine_version = "seven"
  }

  expect_failures = [var.engine_version]
}

run "malformed_parameter_group_family_is_refused" {
  command = plan

  variables {
    parameter_group_family = "valkey8"
  }

  expect_failures = [var.parameter_group_family]
}

run "overlapping_windows_are_refused" {
  command = plan

  variables {
    maintenance_window = "sun:03:30-sun:04:30"
    snapshot_window    = "03:00-04:00"
  }

  expect_failures = [aws_elasticache_replication_group.this]
}

run "windows_overlapping_across_the_week_boundary_are_refused" {
  command = plan

  variables {
    maintenance_window = "sun:23:30-mon:00:30"
    snapshot_window    = "00:00-01:00"
  }

  expect_failures = [aws_elasticache_replication_group.this]
}

run "adjacent_windows_are_accepted" {
  command = plan

  variables {
    maintenance_window = "tue:04:00-tue:05:00"
    snapshot_window    = "03:00-04:00"
  }

  assert {
    condition     = aws_elasticache_replication_group.this.maintenance_window == "tue:04:00-tue:05:00" && aws_elasticache_replication_group.this.snapshot_window == "03:00-04:00"
    error_message = "Windows that only touch are fine."
  }
}

run "a_short_snapshot_window_is_refused" {
  command = plan

  variables {
    snapshot_window = "03:00-03:30"
  }

  expect_failures = [aws_elasticache_replication_group.this]
}

run "node_types_that_do_not_exist_are_refused" {
  command = plan

  variables {
    node_type = "cache.t4g.large"
  }

  expect_failures = [var.node_type]
}

run "previous_generation_node_types_are_refused" {
  command = plan

  variables {
    node_type = "cache.m3.medium"
  }

  expect_failures = [var.node_type]
}

run "current_node_types_are_accepted" {
  command = plan

  variables {
    node_type = "cache.r7g.2xlarge"
  }

  assert {
    condition     = aws_elasticache_replication_group.this.node_type == "cache.r7g.2xlarge"
    error_message = "cache.r7g.2xlarge is a current node type."
  }
}

run "alarms_must_notify_someone" {
  command = plan

  variables {
    alarm_actions = []
  }

  expect_failures = [var.alarm_actions]
}

run "bad_auth_token_settings_are_refused" {
  command = plan

  variables {
    auth_token_version         = 0
    auth_token_update_strategy = "DELETE"
  }

  expect_failures = [var.auth_token_version, var.auth_token_update_strategy]
}

run "bad_names_ports_and_retention_are_refused" {
  command = plan

  variables {
    name                        = "Shop_Cache"
    vpc_id                      = "shop-vpc"
    port                        = 80
    snapshot_retention_limit    = 0
    log_retention_days          = 10
    secret_recovery_window_days = 3
  }

  expect_failures = [var.name, var.vpc_id, var.port, var.snapshot_retention_limit, var.log_retention_days, var.secret_recovery_window_days]
}

run "bad_shard_counts_and_thresholds_are_refused" {
  command = plan

  variables {
    num_node_groups                  = 0
    alarm_cpu_threshold_percent      = 0
    alarm_host_cpu_threshold_percent = 101
    alarm_memory_threshold_percent   = 0
    alarm_replication_lag_seconds    = 0
    alarm_evictions_per_5_minutes    = -1
    alarm_connections                = 0
  }

  expect_failures = [var.num_node_groups, var.alarm_cpu_threshold_percent, var.alarm_host_cpu_threshold_percent, var.alarm_memory_threshold_percent, var.alarm_replication_lag_seconds, var.alarm_evictions_per_5_minutes, var.alarm_connections]
}
