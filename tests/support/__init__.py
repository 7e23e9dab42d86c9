"""What the tests (and the benchmarks) need besides the product: servers, harnesses, data builders.

One module per thing; conftest files hold only fixtures and import from here.

Servers and doubles (real protocols on loopback ports):
    postgres_server     a throwaway PostgreSQL cluster (Debian's package) for Dagster's storage
    cosmos_server       the Cosmos DB protocol server (Node, tests/cosmos_server) on a free port
    fault_proxy         an HTTPS proxy in front of it that injects 429/503/dropped connections
    azure_files_double  an in-memory Azure Files REST double for the real SDK
    local_net           free loopback ports, "does this URL answer"
    photo_site          a public photo site on 127.0.0.1 with DNS and routing hooks, for URL fetching

Running the product:
    pipeline            local resources for a home, the whole graph in one run, PipelineHome,
                        the predicted name of each unlabeled photo
    chunked_ingest      the fanned-out ingest as a multiprocess job, and its chunk-step timings
    daemon              a real ``dagster-daemon`` over a FaceLoop home
    k8s_specs           the Kubernetes Job specs dagster-k8s would submit, built offline
    browser             Debian's Chromium for Playwright, screenshots, a retrain as the sensor runs it

Data:
    sample_library      a library (with sidecar labels) from a folder-per-person set; the demo's too
    synthetic           synthetic embeddings and a store filled with them, for sizes beyond lfw10
    bad_input_library   broken, odd and good photos made from lfw10, with what ingest must make of each
    label_model         an in-memory model of the labeling rules for the property tests
    labels              label edits through the store API (take a library down to K labels)
    threads             one callable on several threads at once (the stores' races)

Rules (tests/test_import_boundaries.py): nothing here imports ``bench``; benchmarks import this.
"""
