"""Example consumers of this service, each with the test that writes its pact: what they need of
the service is verified against it by the provider tests of the contract layer. In a real system
each consumer's own repository holds these, and a Pact Broker brings their pacts here."""
