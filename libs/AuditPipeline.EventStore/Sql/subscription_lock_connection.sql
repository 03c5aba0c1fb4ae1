-- Names the leader-lock connection, so operators (and tests) find it in pg_stat_activity.
SELECT set_config('application_name', @name, false)
