-- Extends the lease by $5 milliseconds from now, if $3 still holds it with
-- token $4 (even if it expired, as long as nobody took it meanwhile).
UPDATE {schema}.projection_leases
SET expires_at = clock_timestamp() + $5 * interval '1 millisecond'
WHERE projection = $1 AND partition = $2 AND holder = $3 AND token = $4
RETURNING token
