"""A real Confluent-compatible schema registry for this machine: Apicurio Registry from Maven
Central, fetched and started the way the broker is."""
