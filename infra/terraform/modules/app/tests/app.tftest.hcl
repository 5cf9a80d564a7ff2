# terraform init && terraform test   (in modules/app; check.sh runs it in CI)
#
# The aws provider is mocked. Plan runs assert only configured values; the
# mocked apply runs read what is built from computed ARNs (the task
# definition, the IAM policies).

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/admin-password-AbCdEf" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/shop"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"
    }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0mock000000000000" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef"
      arn_suffix = "app/shop/0123456789abcdef"
      dns_name   = "shop-123456789.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-app/0123456789abcdef"
      arn_suffix = "targetgroup/shop-app/0123456789abcdef"
    }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { id = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:1" }
  }
}

variables {
  name                           = "shop"
  region                         = "eu-west-1"
  account_id                     = "123456789012"
  vpc_id                         = "vpc-0123456789abcdef0"
  public_subnet_ids              = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  private_subnet_ids             = ["subnet-0ccccccccccccccc3", "subnet-0ddddddddddddddd4"]
  vpc_endpoint_security_group_id = "sg-0eeeeeeeeeeeeeee5"
  s3_prefix_list_id              = "pl-6da54004"
  redis_mode                     = "standalone"
  elasticache_secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/elasticache-AbCdEf"
  database_secret_arn            = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/postgres-AbCdEf"
  certificate_arn                = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  alarm_actions                  = ["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]
  dependencies = {
    redis    = { security_group_id = "sg-0aaaaaaaaaaaaaaa1", port = 6379 }
    postgres = { security_group_id = "sg-0bbbbbbbbbbbbbbb2", port = 5432 }
  }
}

run "https_is_the_default_and_port_80_only_redirects" {
  command = plan

  assert {
    condition     = length(aws_lb_listener.https) == 1 && aws_lb_listener.https[0].protocol == "HTTPS" && aws_lb_listener.https[0].port == 443 && aws_lb_listener.https[0].certificate_arn == var.certificate_arn
    error_message = "With a certificate port 443 serves HTTPS with it."
  }
  assert {
    condition     = aws_lb_listener.https[0].ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "The HTTPS listener uses the TLS 1.3/1.2 policy ELBSecurityPolicy-TLS13-1-2-2021-06, no older one."
  }
  assert {
    condition     = aws_lb_listener.https[0].routing_http_response_strict_transport_security_header_value == "max-age=31536000; includeSubDomains"
    error_message = "The HTTPS listener sends HSTS for a year."
  }
  assert {
    condition = length(aws_lb_listener.http.default_action) == 1 && alltrue([
      for a in aws_lb_listener.http.default_action : a.type == "redirect" && a.target_group_arn == null && a.redirect[0].protocol == "HTTPS" && a.redirect[0].port == "443" && a.redirect[0].status_code == "HTTP_301"
    ])
    error_message = "Port 80 only redirects to HTTPS (301) and forwards nothing."
  }
  assert {
    condition     = aws_lb.this.drop_invalid_header_fields == true && aws_lb.this.internal == false
    error_message = "The load balancer drops invalid headers (it is internet-facing on purpose)."
  }
  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/readyz" && aws_lb_target_group.this.port == 8080 && aws_lb_target_group.this.target_type == "ip"
    error_message = "The target group checks /readyz on port 8080 of each task."
  }
  assert {
    condition     = aws_ecs_service.this.desired_count == 2 && aws_ecs_service.this.launch_type == "FARGATE" && aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "Two Fargate tasks without public IPs by default."
  }
}

run "security_groups_allow_only_what_the_tasks_need" {
  command = plan

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.alb_http : "${r.cidr_ipv4}:${r.from_port}-${r.to_port}"]) == toset(["0.0.0.0/0:80-80"]) && toset([for r in aws_vpc_security_group_ingress_rule.alb_https : "${r.cidr_ipv4}:${r.from_port}-${r.to_port}"]) == toset(["0.0.0.0/0:443-443"])
    error_message = "The load balancer accepts ports 80 and 443 from allowed_ingress_cidrs, nothing else."
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.alb_to_app.from_port == 8080 && aws_vpc_security_group_egress_rule.alb_to_app.to_port == 8080 && aws_vpc_security_group_egress_rule.alb_to_app.cidr_ipv4 == null && aws_vpc_security_group_egress_rule.alb_to_app.cidr_ipv6 == null
    error_message = "The load balancer may only reach the tasks' group on 8080."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.app_from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.app_from_alb.to_port == 8080 && aws_vpc_security_group_ingress_rule.app_from_alb.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.app_from_alb.cidr_ipv6 == null
    error_message = "The tasks accept port 8080 from the load balancer's group only."
  }
  assert {
    condition = {
      for k, r in aws_vpc_security_group_egress_rule.app_to_dependencies : k => "${r.referenced_security_group_id}:${r.from_port}-${r.to_port}:${r.cidr_ipv4 == null && r.cidr_ipv6 == null && r.prefix_list_id == null}"
      } == {
      redis    = "sg-0aaaaaaaaaaaaaaa1:6379-6379:true"
      postgres = "sg-0bbbbbbbbbbbbbbb2:5432-5432:true"
    }
    error_message = "The tasks may reach the cache's group on 6379 and the database's on 5432, by group, no CIDR."
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.app_to_aws_endpoints.referenced_security_group_id == "sg-0eeeeeeeeeeeeeee5" && aws_vpc_security_group_egress_rule.app_to_aws_endpoints.from_port == 443 && aws_vpc_security_group_egress_rule.app_to_aws_endpoints.to_port == 443 && aws_vpc_security_group_egress_rule.app_to_aws_endpoints.cidr_ipv4 == null && aws_vpc_security_group_egress_rule.app_to_aws_endpoints.cidr_ipv6 == null
    error_message = "HTTPS egress goes to the VPC endpoints' group, not to a CIDR."
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.app_to_s3.prefix_list_id == "pl-6da54004" && aws_vpc_security_group_egress_rule.app_to_s3.from_port == 443 && aws_vpc_security_group_egress_rule.app_to_s3.to_port == 443 && aws_vpc_security_group_egress_rule.app_to_s3.cidr_ipv4 == null && aws_vpc_security_group_egress_rule.app_to_s3.cidr_ipv6 == null
    error_message = "The only other egress is HTTPS to S3's prefix list (image layers)."
  }
}

run "least_privilege_iam" {
  command = apply

  assert {
    condition = alltrue([
      for r in [aws_iam_role.task, aws_iam_role.execution] :
      jsondecode(r.assume_role_policy).Statement == [{
        Effect    = "Allow"
        Principal = { Service = "ecs-tasks.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
      }]
    ])
    error_message = "ECS may assume the task and execution roles only for tasks of this account (aws:SourceAccount)."
  }
  assert {
    condition     = length(aws_iam_role_policy.task_exec) == 0
    error_message = "The task role (the shop process) has no permissions without ECS Exec."
  }
  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Sid => { action = s.Action, resource = s.Resource }
      } == {
      EcrLogin        = { action = ["ecr:GetAuthorizationToken"], resource = "*" }
      PullShopImage   = { action = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], resource = "arn:aws:ecr:eu-west-1:123456789012:repository/shop" }
      WriteLogs       = { action = ["logs:CreateLogStream", "logs:PutLogEvents"], resource = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop:*" }
      ReadShopSecrets = { action = ["secretsmanager:GetSecretValue"], resource = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/postgres-AbCdEf", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/elasticache-AbCdEf"] }
    }
    error_message = "The execution role may log in to ECR (the one action without a resource), pull this repository, write this log group and read these secrets: nothing else."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Effect == "Allow" && !contains(flatten([s.Action]), "*") && alltrue([for a in flatten([s.Action]) : !endswith(a, ":*")])])
    error_message = "No wildcard actions in the execution role."
  }
}

run "task_definition_injects_secrets" {
  command = apply

  variables {
    admin_email         = "admin@example.com"
    trusted_proxy_cidrs = ["10.40.0.0/16"]
  }

  assert {
    condition = {
      for s in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets : s.name => s.valueFrom
      } == {
      SHOP_DATABASE_URL       = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/postgres-AbCdEf:url::"
      SHOP_ELASTICACHE_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/elasticache-AbCdEf"
      SHOP_ADMIN_PASSWORD     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/admin-password-AbCdEf"
    }
    error_message = "The database URL, the ElastiCache secret and the admin password come from Secrets Manager."
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value
      } == {
      SHOP_ADDR             = ":8080"
      SHOP_REDIS_MODE       = "standalone"
      SHOP_SESSION_SECURE   = "true"
      SHOP_SEED             = "true"
      SHOP_ADMIN_EMAIL      = "admin@example.com"
      SHOP_ROTATION_VERSION = "1"
      SHOP_TRUSTED_PROXIES  = "10.40.0.0/16"
    }
    error_message = "Behind HTTPS cookies are Secure; the load balancer's VPC is trusted; the plain environment holds no secret."
  }
  assert {
    condition     = aws_secretsmanager_secret_version.admin[0].secret_string == null && aws_secretsmanager_secret_version.admin[0].secret_string_wo_version == 1
    error_message = "The admin password reaches its secret write-only: it is in no state."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:latest" && aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push == true && aws_ecr_repository.this.encryption_configuration[0].encryption_type == "KMS"
    error_message = "The image comes from the module's ECR repository, whose tags are immutable and scanned on push."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The container's root file system is read-only."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.logDriver == "awslogs" && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/shop"
    error_message = "The container logs to CloudWatch Logs."
  }
  assert {
    condition     = output.url == "https://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "The URL is HTTPS."
  }
}

run "rotating_a_secret_rolls_the_tasks" {
  command = apply

  variables {
    redis_mode      = "cluster"
    secrets_version = "auth2-db1"
  }

  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SHOP_ROTATION_VERSION", value = "auth2-db1" }) && contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SHOP_REDIS_MODE", value = "cluster" })
    error_message = "A new secrets version changes the task definition, so the service replaces the tasks and they read the secrets again."
  }
}

run "alarms_notify_the_topic" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.app)) == toset(["alb-5xx", "alb-elb-5xx", "unhealthy-targets", "running-tasks"])
    error_message = "The load balancer's 5xx (target and its own), unhealthy targets and running tasks each have an alarm."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.app : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:shop-alarms"])])
    error_message = "Every alarm notifies the alarm topic."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.app["running-tasks"].threshold == 2 && aws_cloudwatch_metric_alarm.app["running-tasks"].comparison_operator == "LessThanThreshold" && aws_cloudwatch_metric_alarm.app["running-tasks"].treat_missing_data == "breaching"
    error_message = "Fewer running tasks than desired_count (or no metric at all) fires the alarm."
  }
}

run "plain_http_only_as_an_explicit_demo_opt_in" {
  command = apply

  variables {
    certificate_arn  = null
    allow_plain_http = true
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && aws_lb_listener.http.default_action[0].type == "forward"
    error_message = "allow_plain_http without a certificate: port 80 serves the demo."
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SHOP_SESSION_SECURE", value = "false" }) && output.url == "http://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "Without HTTPS the cookie can't be Secure, and the URL says http."
  }
}

run "no_certificate_without_the_opt_in_is_refused" {
  command = plan

  variables {
    certificate_arn = null
  }

  expect_failures = [var.certificate_arn]
}

run "a_certificate_that_is_no_acm_arn_is_refused" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/shop"
  }

  expect_failures = [var.certificate_arn]
}

run "an_old_tls_policy_is_refused" {
  command = plan

  variables {
    ssl_policy = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}

run "alarms_without_a_target_are_refused" {
  command = plan

  variables {
    alarm_actions = []
  }

  expect_failures = [var.alarm_actions]
}

run "an_account_id_that_is_not_one_is_refused" {
  command = plan

  variables {
    account_id = "shop"
  }

  expect_failures = [var.account_id]
}

run "egress_targets_must_be_a_group_and_a_prefix_list" {
  command = plan

  variables {
    vpc_endpoint_security_group_id = "0.0.0.0/0"
    s3_prefix_list_id              = "0.0.0.0/0"
  }

  expect_failures = [var.vpc_endpoint_security_group_id, var.s3_prefix_list_id]
}

run "secrets_in_plain_environment_are_refused" {
  command = plan

  variables {
    environment = { SHOP_ADMIN_PASSWORD = "hunter2hunter2" }
  }

  expect_failures = [var.environment]
}

run "bad_inputs_are_refused" {
  command = plan

  variables {
    name                        = "Shop--App"
    region                      = "Ireland"
    vpc_id                      = "shop"
    public_subnet_ids           = ["subnet-0aaaaaaaaaaaaaaa1"]
    private_subnet_ids          = []
    image_tag                   = "-bad tag"
    desired_count               = 1.5
    task_cpu                    = 300
    task_memory                 = 256
    cpu_architecture            = "arm"
    redis_mode                  = "sentinel"
    allowed_ingress_cidrs       = ["everyone"]
    admin_email                 = "admin"
    log_retention_days          = 2
    secret_recovery_window_days = 40
    admin_password_version      = 0
    alarm_5xx_per_5_minutes     = -1
  }

  expect_failures = [
    var.name, var.region, var.vpc_id, var.public_subnet_ids, var.private_subnet_ids, var.image_tag,
    var.desired_count, var.task_cpu, var.task_memory, var.cpu_architecture, var.redis_mode,
    var.allowed_ingress_cidrs, var.admin_email, var.log_retention_days, var.secret_recovery_window_days,
    var.admin_password_version, var.alarm_5xx_per_5_minutes,
  ]
}

run "trusted_proxies_must_be_cidrs" {
  command = plan

  variables {
    trusted_proxy_cidrs = ["the load balancer"]
  }

  expect_failures = [var.trusted_proxy_cidrs]
}
