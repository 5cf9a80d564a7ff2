# terraform init && terraform test   (in modules/app)

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
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/0123456789abcdef"
      dns_name = "shop-123456789.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-app/0123456789abcdef" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { id = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:1" }
  }
}

variables {
  name                   = "shop"
  region                 = "eu-west-1"
  vpc_id                 = "vpc-0123456789abcdef0"
  public_subnet_ids      = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  private_subnet_ids     = ["subnet-0ccccccccccccccc3", "subnet-0ddddddddddddddd4"]
  redis_mode             = "standalone"
  elasticache_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/elasticache-AbCdEf"
  database_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/postgres-AbCdEf"
  dependencies = {
    redis    = { security_group_id = "sg-0aaaaaaaaaaaaaaa1", port = 6379 }
    postgres = { security_group_id = "sg-0bbbbbbbbbbbbbbb2", port = 5432 }
  }
}

run "load_balancer_and_security_groups" {
  command = plan

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/readyz" && aws_lb_target_group.this.port == 8080 && aws_lb_target_group.this.target_type == "ip"
    error_message = "The target group checks /readyz on port 8080 of each task."
  }
  assert {
    condition     = aws_ecs_service.this.desired_count == 2 && aws_ecs_service.this.launch_type == "FARGATE"
    error_message = "Two Fargate tasks by default."
  }
  assert {
    condition     = aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "Tasks get no public IP."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.app_from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.app_from_alb.cidr_ipv4 == null
    error_message = "The tasks accept port 8080 from the load balancer's group only."
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.app_to_dependencies["redis"].referenced_security_group_id == "sg-0aaaaaaaaaaaaaaa1" && aws_vpc_security_group_egress_rule.app_to_dependencies["redis"].to_port == 6379
    error_message = "The tasks may reach the cache's group on 6379."
  }
  assert {
    condition     = length(aws_iam_role_policy.task_exec) == 0
    error_message = "The task role has no permissions without ECS Exec."
  }
  assert {
    condition     = length(aws_lb_listener.https) == 0 && aws_lb_listener.http.default_action[0].type == "forward"
    error_message = "Without a certificate port 80 forwards to the tasks."
  }
}

run "task_definition_injects_secrets" {
  command = apply

  variables {
    admin_email = "admin@example.com"
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
      SHOP_ADDR           = ":8080"
      SHOP_REDIS_MODE     = "standalone"
      SHOP_SESSION_SECURE = "false"
      SHOP_SEED           = "true"
      SHOP_ADMIN_EMAIL    = "admin@example.com"
    }
    error_message = "The plain environment holds no secret."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:latest"
    error_message = "The image defaults to the module's ECR repository."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The container's root file system is read-only."
  }
}

run "https_and_cluster_mode" {
  command = apply

  variables {
    redis_mode      = "cluster"
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }

  assert {
    condition     = length(aws_lb_listener.https) == 1 && aws_lb_listener.http.default_action[0].type == "redirect"
    error_message = "With a certificate port 443 serves and port 80 redirects."
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SHOP_SESSION_SECURE", value = "true" }) && contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SHOP_REDIS_MODE", value = "cluster" })
    error_message = "Behind HTTPS cookies are Secure; cluster mode reaches the shop."
  }
  assert {
    condition     = output.url == "https://shop-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "The URL is HTTPS."
  }
}

run "secrets_in_plain_environment_are_refused" {
  command = plan

  variables {
    environment = { SHOP_ADMIN_PASSWORD = "hunter2hunter2" }
  }

  expect_failures = [var.environment]
}
