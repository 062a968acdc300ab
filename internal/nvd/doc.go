// Package nvd reads CVE records the way NVD's CVE API 2.0 serves them.
//
// Two sources implement Source and return the same Page shape:
//
//   - Client speaks to the API over HTTP. It paces itself over a rolling
//     window shared by every caller in the process (Pacer), so that it never
//     needs NVD to throttle it; it retries throttling answers, 5xx answers,
//     connection errors and malformed 200 pages with jittered backoff and
//     Retry-After, within a budget; it gives up with an error that says what
//     NVD last answered; it shrinks the page size while large pages keep
//     failing and grows it back afterwards; and it surfaces the message
//     header of a 404 as the error without retrying.
//   - Feed answers the same queries from NVD 2.0 feed files (.json,
//     .json.gz, .zip), for air-gapped bootstrap.
//
// Records stay json.RawMessage (the NVD `cve` object, byte-for-byte as the
// source sent it) so that storing and reading them back gives the same
// fields; only id, published, lastModified and vulnStatus are decoded.
//
// Walk fetches everything a Query matches from any Source: it splits date
// ranges into windows of at most MaxRange (120 days) and fetches pages
// concurrently, delivering them in order.
//
// Library code never reads the environment: callers pass a Config.
package nvd
