-- App after 20261130_status_subscribers: subscribes addresses and uses open_incident_count().
INSERT INTO status_subscribers (email, check_id) SELECT 'probe+' || gen_random_uuid() || '@example.com', min(id) FROM checks;
UPDATE status_subscribers SET confirmed = true WHERE id = (SELECT max(id) FROM status_subscribers);
SELECT open_incident_count() AS open_incidents;
SELECT split_part(email, '@', 2) AS domain, count(*) FROM status_subscribers GROUP BY 1 ORDER BY 2 DESC LIMIT 10;
