"""The pacts this service takes part in, as code: each module defines one (its interactions, with
Pact's matchers) and writes it for the session (a fixture), so that the consumer's test and the
provider's verification read the same pact whichever runs first."""
