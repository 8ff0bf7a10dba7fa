-- Issue 36, point 7: the data map finds a subject's webhooks by four paths of their payload
-- (policy/data-map.yaml, payment_events.reach_json). Each path is looked up by its own index
-- (SubjectScope selects the union of the paths' rows); these are the two 0027 did not index.
-- Without them every export read every webhook and took its JSON apart six times.
CREATE INDEX IF NOT EXISTS payment_events_object_intent_idx
    ON public.payment_events ((payload #>> '{data,object,payment_intent}'));
CREATE INDEX IF NOT EXISTS payment_events_data_id_idx ON public.payment_events ((payload #>> '{data,id}'));
