# Cluster mode enabled: 2 shards × (1 primary + 1 replica) = 4 nodes, keys
# spread over the shards by hash slot. The shop runs with
# SHOP_REDIS_MODE=cluster against the configuration endpoint.
#
#   terraform apply -var-file=cluster-mode-enabled.tfvars

region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
name               = "shop"

cluster_mode_enabled    = true
num_node_groups         = 2
replicas_per_node_group = 1
cache_node_type         = "cache.t4g.small"

db_instance_class = "db.t4g.micro"
db_multi_az       = true

desired_count = 2
image_tag     = "latest"

# certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/…"
# admin_email     = "you@example.com"
# alarm_actions   = ["arn:aws:sns:eu-west-1:123456789012:ops"]
