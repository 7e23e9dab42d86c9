"""The app's adapters to systems outside it: ``dagster_status`` (is a retrain queued or running?
asked of Dagster's GraphQL API) and ``url_fetch`` (photos fetched from a pasted URL, never from
inside our network). The rest of the app reaches those systems only through these."""
