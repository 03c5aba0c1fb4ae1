-- Subscriptions that have not yet handled a position: dropping the month would take events they never saw.
SELECT name, position FROM audit.subscription_checkpoints WHERE position < @position ORDER BY name
