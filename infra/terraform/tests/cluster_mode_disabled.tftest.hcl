# terraform init && terraform test   (in infra/terraform)
#
# The whole stack with the aws provider mocked: it checks that the modules fit
# together (no dependency cycle, every input satisfied) and what reaches the
# outputs. The values mirror cluster-mode-disabled.tfvars. random is real.

mock_provider "aws" {
  # Mocked IDs and ARNs shaped like real ones, so the modules' input
  # validations and the provider's ARN checks accept them after a mocked apply.
  mock_resource "aws_vpc" {
    defaults = { id = "vpc-0mock0000000000000" }
  }
  mock_resource "aws_subnet" {
    defaults = { id = "subnet-0mock00000000000" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0mock000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mock-AbCdEf" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/shop"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"
    }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef"
      arn_suffix = "app/shop/0123456789abcdef"
      dns_name   = "shop-123456789.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = { prefix_list_id = "pl-6da54004" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:shop-alarms" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-app/0123456789abcdef" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = {
      id  = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
    }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:1" }
  }
}

variables {
  account_id           = "123456789012"
  certificate_arn      = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  alarm_emails         = ["ops@example.com"]
  region               = "eu-west-1"
  availability_zones   = ["eu-west-1a", "eu-west-1b"]
  name                 = "shop"
  cluster_mode_enabled = false
  num_cache_clusters   = 2
  db_multi_az          = false
  desired_count        = 2
}

run "plan_new_vpc" {
  command = plan

  assert {
    condition     = output.redis_mode == "standalone"
    error_message = "Cluster mode disabled runs the shop with SHOP_REDIS_MODE=standalone."
  }
  assert {
    condition     = module.elasticache.cluster_mode_enabled == false && module.elasticache.port == 6379
    error_message = "The cache runs with cluster mode disabled on 6379."
  }
  assert {
    condition     = length(module.network) == 1
    error_message = "Without vpc_id a VPC is created."
  }
  assert {
    condition     = length(module.network[0].private_subnet_ids) == 2 && length(module.network[0].public_subnet_ids) == 2
    error_message = "One public and one private subnet per availability zone."
  }
  assert {
    condition     = aws_sns_topic.alarms.name == "shop-alarms" && length(aws_kms_key.alarms) == 1 && aws_kms_key.alarms[0].enable_key_rotation == true
    error_message = "Alarms go to an encrypted topic; without kms_key_arn the stack makes the (rotated) key CloudWatch may publish with."
  }
  assert {
    condition     = [for s in aws_sns_topic_subscription.email : "${s.protocol}:${s.endpoint}"] == ["email:ops@example.com"]
    error_message = "alarm_emails are subscribed to the alarm topic."
  }
}

run "apply_mocked" {
  command = apply

  assert {
    condition     = output.shop_url == "https://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "With a certificate (the default) the shop is served over HTTPS."
  }
  assert {
    condition     = output.redis_port == 6379
    error_message = "The cache listens on 6379."
  }
  assert {
    condition     = output.admin_password_secret_arn == null
    error_message = "No admin secret without admin_email."
  }
  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:eu-west-1:123456789012:shop-alarms" && aws_sns_topic.alarms.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    error_message = "The alarm topic is encrypted with the stack's key."
  }
  assert {
    condition     = contains([for s in jsondecode(aws_kms_key.alarms[0].policy).Statement : s.Principal], { Service = "cloudwatch.amazonaws.com" })
    error_message = "CloudWatch may use the topic's key, or alarms could not publish."
  }
}

run "plain_http_demo_only_when_asked_for" {
  command = apply

  variables {
    certificate_arn  = null
    allow_plain_http = true
  }

  assert {
    condition     = output.shop_url == "http://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "allow_plain_http without a certificate serves the demo over plain HTTP."
  }
}

run "no_certificate_is_refused" {
  command = plan

  variables {
    certificate_arn = null
  }

  expect_failures = [var.certificate_arn]
}

run "alarms_must_reach_someone" {
  command = plan

  variables {
    alarm_emails = []
  }

  expect_failures = [var.alarm_emails]
}

run "bad_root_inputs_are_refused" {
  command = plan

  variables {
    account_id   = "0"
    region       = "europe"
    name         = "Shop"
    alarm_emails = ["ops"]
  }

  expect_failures = [var.account_id, var.region, var.name, var.alarm_emails]
}

run "existing_vpc" {
  command = plan

  variables {
    vpc_id                         = "vpc-0123456789abcdef0"
    private_subnet_ids             = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    public_subnet_ids              = ["subnet-0ccccccccccccccc3", "subnet-0ddddddddddddddd4"]
    vpc_endpoint_security_group_id = "sg-0eeeeeeeeeeeeeee5"
    s3_prefix_list_id              = "pl-6da54004"
    availability_zones             = []
  }

  assert {
    condition     = length(module.network) == 0 && output.vpc_id == "vpc-0123456789abcdef0"
    error_message = "With vpc_id no VPC is created and the given one is used."
  }
}

run "existing_vpc_needs_subnets_and_endpoints" {
  command = plan

  variables {
    vpc_id = "vpc-0123456789abcdef0"
  }

  expect_failures = [var.vpc_id]
}

run "new_vpc_needs_availability_zones" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}
