-- Lets the lease expire now, if $3 still holds it with token $4.
UPDATE {schema}.projection_leases
SET expires_at = clock_timestamp()
WHERE projection = $1 AND partition = $2 AND holder = $3 AND token = $4
