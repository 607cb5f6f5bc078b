-- Takes the lease of projection $1, partition $2 for holder $3 for $4
-- milliseconds when it is free, expired or already held by $3, bumping the
-- fencing token. No row comes back when another holder has it. The row may
-- be locked by the holder's page in flight: both the expiry check and the
-- new expiry are read from the clock after that wait.
INSERT INTO {schema}.projection_leases AS l (projection, partition, holder, token, expires_at)
VALUES ($1, $2, $3, 1, clock_timestamp() + $4 * interval '1 millisecond')
ON CONFLICT (projection, partition) DO UPDATE
SET holder = EXCLUDED.holder, token = l.token + 1,
    expires_at = clock_timestamp() + $4 * interval '1 millisecond'
WHERE l.expires_at <= clock_timestamp() OR l.holder = EXCLUDED.holder
RETURNING l.token
