//! firewatch-pcap
