export { FlowAggregator, type FlowLog, type Reporter } from "./aggregator.js";
export { type CollectorOptions, FlowLogCollector } from "./collector.js";
export { type ConntrackEntry, parseConntrackLine, parseConntrackList } from "./conntrack.js";
export { type EndpointInfo, EndpointLookup } from "./endpoints.js";
export { type FlowFilter, FlowFilterError, matchesFlow, parseFlowFilter } from "./filter.js";
export { type NflogPacket, NflogPcapReader } from "./nflog-pcap.js";
export { serveFlows } from "./server.js";
export { FLOW_LOG_FILE, FlowLogFile } from "./writer.js";
