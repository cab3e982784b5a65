package main

// The cost targets (issue "Cut the cost of a command").
const (
	// maxRequestsPerCommand is the most storage requests a command may
	// cost at full load.
	maxRequestsPerCommand = 5.0
	// baselinePrismCPUMs is Prism's own CPU per command at full load
	// (services + Redis) measured by this bench on 2026-11-30 before
	// batching: prism-api 4.2, domain-service 4.2, readmodel-updater 2.2,
	// redis-server 1.4 ms (Azurite, not Prism's, 11.7 ms). The target is
	// half of it.
	baselinePrismCPUMs = 12.0
	// referenceQueueCycles and referenceTableRequests are the reference
	// design's storage work per command: the command's and the event's
	// queue cycles (send, receive, delete each) and four table requests
	// (read the stream, append, read and write the read-model row).
	referenceQueueCycles   = 2
	referenceTableRequests = 4
)

// pipelineReplicas is the domain-service replica count of the pipeline
// phase.
const pipelineReplicas = 3
