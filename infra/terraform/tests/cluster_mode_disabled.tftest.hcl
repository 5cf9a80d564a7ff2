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
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef"
      dns_name = "shop-123456789.eu-west-1.elb.amazonaws.com"
    }
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
}

run "apply_mocked" {
  command = apply

  assert {
    condition     = output.shop_url == "http://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "Without a certificate the shop is served over plain HTTP at the load balancer's name."
  }
  assert {
    condition     = output.redis_port == 6379
    error_message = "The cache listens on 6379."
  }
  assert {
    condition     = output.admin_password_secret_arn == null
    error_message = "No admin secret without admin_email."
  }
}

run "existing_vpc" {
  command = plan

  variables {
    vpc_id             = "vpc-0123456789abcdef0"
    private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    public_subnet_ids  = ["subnet-0ccccccccccccccc3", "subnet-0ddddddddddddddd4"]
    availability_zones = []
  }

  assert {
    condition     = length(module.network) == 0 && output.vpc_id == "vpc-0123456789abcdef0"
    error_message = "With vpc_id no VPC is created and the given one is used."
  }
}

run "existing_vpc_needs_subnets" {
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
