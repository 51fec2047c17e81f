-- A delivery with no callback URL (neither the order nor its merchant has one) is
-- `not_configured`, and so is the attempt that found it out: nothing was sent, and the
-- delivery waits for the operator instead of reading as a failed delivery.
ALTER TABLE callbacks DROP CONSTRAINT callbacks_state_check;
ALTER TABLE callbacks ADD CONSTRAINT callbacks_state_check
    CHECK (state IN ('pending', 'delivered', 'failed', 'not_configured'));
ALTER TABLE callback_attempts DROP CONSTRAINT callback_attempts_outcome_check;
ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_outcome_check
    CHECK (outcome IN ('delivered', 'failed', 'refused', 'not_configured'));
