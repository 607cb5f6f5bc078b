-- Extends the lease by $5 milliseconds from now, if $3 still holds it with
-- token $4 and it has not expired: an expired lease is lost, even if nobody
-- took it yet (the holder must take it again, with a new token, so that a
-- page begun under the old one can never commit).
UPDATE {schema}.projection_leases
SET expires_at = clock_timestamp() + $5 * interval '1 millisecond'
WHERE projection = $1 AND partition = $2 AND holder = $3 AND token = $4
  AND expires_at > clock_timestamp()
RETURNING token
