SELECT position FROM audit.subscription_checkpoints WHERE name = @name
