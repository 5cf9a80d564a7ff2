# The shop on ECS Fargate: an ECR repository for its image, a cluster, a task
# definition whose connection settings come from Secrets Manager, a service of
# N tasks in private subnets, and an Application Load Balancer in front.

locals {
  container_name = "shop"
  container_port = 8080
  https          = var.certificate_arn != null
  image          = coalesce(var.image, "${aws_ecr_repository.this.repository_url}:${var.image_tag}")
  admin          = var.admin_email != null

  environment = merge(var.environment, {
    SHOP_ADDR           = ":${local.container_port}"
    SHOP_REDIS_MODE     = var.redis_mode
    SHOP_SESSION_SECURE = local.https ? "true" : "false"
    SHOP_SEED           = var.seed ? "true" : "false"
    # Not read by the shop: a new value makes a new task definition revision,
    # so the service replaces its tasks and each reads the secret again (the
    # AUTH token rotation in README).
    SHOP_ROTATION_VERSION = var.secrets_version
    }, length(var.trusted_proxy_cidrs) > 0 ? {
    # The load balancer's X-Forwarded-For and X-Forwarded-Proto are believed only from
    # these addresses: client addresses for the sign-in rate limits, HTTPS for cookies.
    SHOP_TRUSTED_PROXIES = join(",", var.trusted_proxy_cidrs)
    } : {}, local.admin ? {
    SHOP_ADMIN_EMAIL = var.admin_email
  } : {})

  # Connection strings and passwords reach the container only as ECS secrets:
  # the task definition holds ARNs, never values.
  secrets = concat([
    { name = "SHOP_DATABASE_URL", valueFrom = "${var.database_secret_arn}:url::" },
    { name = "SHOP_ELASTICACHE_SECRET", valueFrom = var.elasticache_secret_arn },
    ], local.admin ? [
    { name = "SHOP_ADMIN_PASSWORD", valueFrom = aws_secretsmanager_secret.admin[0].arn },
  ] : [])

  secret_arns = concat(
    [var.database_secret_arn, var.elasticache_secret_arn],
    local.admin ? [aws_secretsmanager_secret.admin[0].arn] : [],
  )
}

# ---------------------------------------------------------------- image

resource "aws_ecr_repository" "this" {
  name = var.name
  # A tag, once pushed, always names the same image: a release is a new tag.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  # KMS always: kms_key_arn, or the AWS managed aws/ecr key when it is null.
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 most recent images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 20
      }
      action = { type = "expire" }
    }]
  })
}

# ---------------------------------------------------------------- admin account

# Ephemeral: generated during apply and written to the secret through the
# write-only secret_string_wo, so it is in neither the plan nor the state.
# Bump admin_password_version to generate and store a new one.
ephemeral "random_password" "admin" {
  count = local.admin ? 1 : 0

  length      = 24
  special     = false
  min_lower   = 4
  min_upper   = 4
  min_numeric = 4
}

resource "aws_secretsmanager_secret" "admin" {
  count = local.admin ? 1 : 0

  name_prefix             = "${var.name}/admin-password-"
  description             = "Password of the shop's admin account ${var.admin_email}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "admin" {
  count = local.admin ? 1 : 0

  secret_id                = aws_secretsmanager_secret.admin[0].id
  secret_string_wo         = ephemeral.random_password.admin[0].result
  secret_string_wo_version = var.admin_password_version
}

# ---------------------------------------------------------------- security groups

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Load balancer of ${var.name}: HTTP(S) in, the app port out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

# Port 80 only redirects to HTTPS (or, with allow_plain_http and no
# certificate, serves a throwaway demo).
resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = local.https ? "HTTP, redirected to HTTPS" : "HTTP (allow_plain_http demo)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = local.https ? toset(var.allowed_ingress_cidrs) : toset([])

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_app" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the shop tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.app.id

  tags = var.tags
}

# The tasks' group: the cache and the database allow ingress from it.
resource "aws_security_group" "app" {
  name_prefix = "${var.name}-app-"
  description = "Shop tasks of ${var.name}: the app port from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-app" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.alb.id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "app_to_dependencies" {
  for_each = var.dependencies

  security_group_id            = aws_security_group.app.id
  description                  = "To ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.security_group_id

  tags = var.tags
}

# What ECS needs to start a task in the tasks' own network (Fargate 1.4+):
# ECR, Secrets Manager and CloudWatch Logs through the VPC's interface
# endpoints, and the image layers from S3 through its gateway endpoint. No
# CIDR: the shop itself talks to nothing but the cache and the database.
resource "aws_vpc_security_group_egress_rule" "app_to_aws_endpoints" {
  security_group_id            = aws_security_group.app.id
  description                  = "HTTPS to the VPC endpoints (ECR, Secrets Manager, CloudWatch Logs)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.vpc_endpoint_security_group_id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "app_to_s3" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS to S3 (ECR image layers) through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id

  tags = var.tags
}

# ---------------------------------------------------------------- load balancer

# Internet-facing on purpose: it is the shop's front door (trivy AWS-0053,
# the scan's one documented exception; README: Security scan).
# trivy:ignore:AWS-0053
resource "aws_lb" "this" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  idle_timeout               = 60

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  name                 = "${var.name}-app"
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = local.container_port
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # /readyz answers 503 while Postgres or Redis is unreachable, so a task
  # gets traffic only once it can serve it.
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

# With a certificate (the default: see var.certificate_arn) port 80 answers
# every request with a redirect to HTTPS and forwards nothing. Only the
# explicit allow_plain_http opt-in makes it forward.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.this.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  # HSTS: browsers that saw the shop over HTTPS never try plain HTTP again.
  routing_http_response_strict_transport_security_header_value = "max-age=31536000; includeSubDomains"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}

# ---------------------------------------------------------------- IAM

locals {
  # aws:SourceAccount: ECS may assume the roles for tasks of this account
  # only (confused-deputy protection).
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = var.account_id }
      }
    }]
  })
}

# Used by ECS itself to start a task: pull the image, write logs, read the
# three secrets. Nothing else.
resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  description        = "ECS task execution role of ${var.name}"
  assume_role_policy = local.ecs_tasks_trust

  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "start-shop-task"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Sid      = "PullShopImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = aws_ecr_repository.this.arn
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
      {
        Sid      = "ReadShopSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.secret_arns
      },
      ], var.kms_key_arn == null ? [] : [
      {
        Sid      = "DecryptShopSecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn
      },
    ])
  })
}

# The role the shop process runs as. The shop calls no AWS API (its settings
# arrive as environment variables), so it has no permissions at all unless
# ECS Exec is switched on.
resource "aws_iam_role" "task" {
  name_prefix        = "${var.name}-task-"
  description        = "Role of the running shop tasks of ${var.name} (no AWS permissions)"
  assume_role_policy = local.ecs_tasks_trust

  tags = var.tags
}

resource "aws_iam_role_policy" "task_exec" {
  count = var.enable_execute_command ? 1 : 0

  name = "ecs-exec"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      Resource = "*"
    }]
  })
}

# ---------------------------------------------------------------- ECS

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # A writable scratch directory; the rest of the file system is read-only.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = local.container_name
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    portMappings = [{
      containerPort = local.container_port
      protocol      = "tcp"
    }]
    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets     = local.secrets
    mountPoints = [{
      sourceVolume  = "tmp"
      containerPath = "/tmp"
      readOnly      = false
    }]
    linuxParameters = { initProcessEnabled = true }
    stopTimeout     = 30
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "shop"
      }
    }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                              = var.name
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  enable_execute_command            = var.enable_execute_command
  propagate_tags                    = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  tags = var.tags

  depends_on = [aws_lb_listener.http, aws_iam_role_policy.execution]
}

# ---------------------------------------------------------------- alarms

locals {
  lb_dimension = { LoadBalancer = aws_lb.this.arn_suffix }
  app_alarms = {
    alb-5xx = {
      namespace  = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", statistic = "Sum"
      operator   = "GreaterThanThreshold", threshold = var.alarm_5xx_per_5_minutes, missing = "notBreaching"
      dimensions = local.lb_dimension
      text       = "More than ${var.alarm_5xx_per_5_minutes} 5xx answers from the shop per 5 minutes, twice in a row"
    }
    alb-elb-5xx = {
      namespace  = "AWS/ApplicationELB", metric = "HTTPCode_ELB_5XX_Count", statistic = "Sum"
      operator   = "GreaterThanThreshold", threshold = var.alarm_5xx_per_5_minutes, missing = "notBreaching"
      dimensions = local.lb_dimension
      text       = "More than ${var.alarm_5xx_per_5_minutes} 5xx answers from the load balancer itself (no healthy target) per 5 minutes, twice in a row"
    }
    unhealthy-targets = {
      namespace  = "AWS/ApplicationELB", metric = "UnHealthyHostCount", statistic = "Maximum"
      operator   = "GreaterThanThreshold", threshold = 0, missing = "notBreaching"
      dimensions = merge(local.lb_dimension, { TargetGroup = aws_lb_target_group.this.arn_suffix })
      text       = "A shop task fails /readyz for 10 minutes"
    }
    running-tasks = {
      namespace  = "ECS/ContainerInsights", metric = "RunningTaskCount", statistic = "Minimum"
      operator   = "LessThanThreshold", threshold = var.desired_count, missing = "breaching"
      dimensions = { ClusterName = aws_ecs_cluster.this.name, ServiceName = var.name }
      text       = "Fewer than ${var.desired_count} shop tasks running for 10 minutes"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "app" {
  for_each = local.app_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "Shop ${var.name}: ${each.value.text}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 2
  comparison_operator = each.value.operator
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
