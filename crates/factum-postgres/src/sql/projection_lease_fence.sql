-- The fence, first statement of every transaction that writes a leased
-- projection's checkpoint: a row only while $3 holds the lease with token
-- $4 and it has not expired. FOR SHARE keeps the row locked until the
-- transaction ends, so no one can take the lease over (an UPDATE) before
-- this transaction has committed or rolled back.
SELECT token
FROM {schema}.projection_leases
WHERE projection = $1 AND partition = $2 AND holder = $3 AND token = $4
  AND expires_at > clock_timestamp()
FOR SHARE
