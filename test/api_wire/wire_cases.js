// The messages the wire test sends through our generated code: representative of what a bootstrap
// file and an xDS control plane carry. Every value is non-default, so it is on the wire and checked.
'use strict';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TLS = 'envoy.extensions.transport_sockets.tls.v3';

module.exports = ({ pack, sock, ads, enumValue }) => {
  const staticCluster = {
    name: 'backend',
    type: 'STATIC',
    connect_timeout: { seconds: 5, nanos: 250000000 },
    lb_policy: 'LEAST_REQUEST',
    per_connection_buffer_limit_bytes: { value: 1048576 },
    load_assignment: {
      cluster_name: 'backend',
      endpoints: [
        {
          locality: { region: 'eu-west', zone: 'eu-west-1a' },
          lb_endpoints: [
            { endpoint: { address: sock('127.0.0.1', 9001) }, load_balancing_weight: { value: 1 } },
            {
              endpoint: { address: sock('127.0.0.2', 9002), hostname: 'b2' },
              load_balancing_weight: { value: 3 },
              health_status: 'HEALTHY',
              metadata: { filter_metadata: { 'envoy.lb': { fields: { canary: { bool_value: true } } } } },
            },
          ],
          load_balancing_weight: { value: 100 },
          priority: 1,
        },
      ],
      policy: { overprovisioning_factor: { value: 140 } },
    },
    circuit_breakers: {
      thresholds: [{ priority: 'HIGH', max_connections: { value: 1000 }, max_retries: { value: 3 } }],
    },
    outlier_detection: {
      consecutive_5xx: { value: 5 },
      interval: { seconds: 10 },
      base_ejection_time: { seconds: 30 },
      max_ejection_percent: { value: 50 },
    },
    health_checks: [
      {
        timeout: { seconds: 1 },
        interval: { seconds: 5 },
        unhealthy_threshold: { value: 3 },
        healthy_threshold: { value: 2 },
        http_health_check: { host: 'backend', path: '/healthz', expected_statuses: [{ start: 200, end: 300 }] },
      },
    ],
    common_lb_config: { healthy_panic_threshold: { value: 50 } },
    least_request_lb_config: { choice_count: { value: 2 } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': pack(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        {
          common_http_protocol_options: { idle_timeout: { seconds: 60 } },
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: { value: 100 } } },
        },
      ),
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: pack(`${TLS}.UpstreamTlsContext`, { sni: 'backend.svc' }),
    },
    upstream_connection_options: { tcp_keepalive: { keepalive_time: { value: 300 } } },
  };

  const dnsCluster = {
    name: 'dns',
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    dns_refresh_rate: { seconds: 30 },
    respect_dns_ttl: true,
    connect_timeout: { nanos: 500000000 },
    load_assignment: {
      cluster_name: 'dns',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: sock('backend.example.com', 443) } }] }],
    },
  };

  const edsCluster = {
    name: 'outbound|8080||reviews.default.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: { eds_config: ads, service_name: 'reviews' },
    connect_timeout: { seconds: 1 },
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: { value: 1024 }, hash_function: 'MURMUR_HASH_2' },
  };

  const bootstrap = {
    node: {
      id: 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local',
      cluster: 'app.default',
      metadata: {
        fields: {
          ISTIO_VERSION: { string_value: '1.20.0' },
          LABELS: { struct_value: { fields: { app: { string_value: 'app' } } } },
          CPU_LIMIT: { number_value: 2.5 },
          MESH: { bool_value: true },
          NOTHING: { null_value: 'NULL_VALUE' },
          PORTS: { list_value: { values: [{ string_value: '8080' }, { number_value: 9090 }] } },
        },
      },
      locality: { region: 'eu-west', zone: 'eu-west-1a', sub_zone: 'rack7' },
      user_agent_name: 'ringside',
    },
    admin: {
      address: sock('127.0.0.1', 15000),
      access_log: [
        {
          name: 'envoy.access_loggers.file',
          typed_config: pack('envoy.extensions.access_loggers.file.v3.FileAccessLog', { path: '/dev/null' }),
        },
      ],
    },
    static_resources: {
      listeners: [
        {
          name: 'virtualInbound',
          address: sock('0.0.0.0', 15006),
          listener_filters: [
            {
              name: 'envoy.filters.listener.original_dst',
              typed_config: pack('envoy.extensions.filters.listener.original_dst.v3.OriginalDst', {}),
            },
          ],
          filter_chains: [
            {
              name: 'inbound|8080',
              filter_chain_match: { destination_port: { value: 8080 }, server_names: ['a.example'] },
              filters: [
                {
                  name: 'envoy.filters.network.tcp_proxy',
                  typed_config: pack('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', {
                    stat_prefix: 'inbound_8080',
                    cluster: 'backend',
                    idle_timeout: { seconds: 3600 },
                    max_connect_attempts: { value: 3 },
                  }),
                },
              ],
            },
          ],
          per_connection_buffer_limit_bytes: { value: 32768 },
          traffic_direction: 'INBOUND',
        },
      ],
      clusters: [staticCluster, dnsCluster, edsCluster],
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' }, timeout: { seconds: 10 } }],
      },
      cds_config: ads,
      lds_config: ads,
    },
    cluster_manager: { local_cluster_name: 'backend' },
    stats_config: {
      stats_tags: [{ tag_name: 'cluster_name', regex: '^cluster\\.((.+?)\\.)' }],
      stats_matcher: { inclusion_list: { patterns: [{ prefix: 'cluster.' }, { suffix: 'rq_total' }] } },
    },
    stats_flush_interval: { seconds: 5 },
    layered_runtime: {
      layers: [{ name: 'static', static_layer: { fields: { 'overload.global_downstream_max_connections': { number_value: 2147483647 } } } }],
    },
  };

  const routeConfiguration = {
    name: 'local_route',
    virtual_hosts: [
      {
        name: 'backend',
        domains: ['backend', 'backend.default.svc.cluster.local:8080'],
        routes: [
          {
            name: 'split',
            match: {
              prefix: '/api',
              case_sensitive: { value: true },
              headers: [{ name: 'x-canary', string_match: { exact: '1' } }],
              query_parameters: [{ name: 'debug', present_match: true }],
            },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: 'v1', weight: { value: 90 } },
                  {
                    name: 'v2',
                    weight: { value: 10 },
                    request_headers_to_add: [
                      { header: { key: 'x-version', value: '2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
                    ],
                  },
                ],
              },
              timeout: { seconds: 15 },
              prefix_rewrite: '/',
              retry_policy: {
                retry_on: '5xx,connect-failure',
                num_retries: { value: 3 },
                per_try_timeout: { nanos: 500000000 },
                retriable_status_codes: [503, 504],
                retry_back_off: { base_interval: { nanos: 25000000 }, max_interval: { seconds: 1 } },
              },
              hash_policy: [{ header: { header_name: 'x-user' } }],
              hedge_policy: { initial_requests: { value: 2 } },
            },
          },
          {
            match: { safe_regex: { regex: '^/old/.*' } },
            redirect: { host_redirect: 'new.example', response_code: 'PERMANENT_REDIRECT', https_redirect: true },
          },
          { match: { path: '/health' }, direct_response: { status: 200, body: { inline_string: 'ok' } } },
        ],
        request_headers_to_remove: ['x-internal'],
      },
    ],
    response_headers_to_add: [{ header: { key: 'server', value: 'ringside' } }],
  };

  const httpConnectionManager = {
    stat_prefix: 'ingress_http',
    codec_type: 'HTTP1',
    rds: { route_config_name: 'local_route', config_source: ads },
    http_filters: [
      {
        name: 'envoy.filters.http.fault',
        typed_config: pack('envoy.extensions.filters.http.fault.v3.HTTPFault', {
          delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 10, denominator: 'TEN_THOUSAND' } },
          abort: { http_status: 503, percentage: { numerator: 5 } },
        }),
      },
      {
        name: 'envoy.filters.http.local_ratelimit',
        typed_config: pack('envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', {
          stat_prefix: 'rl',
          token_bucket: { max_tokens: 100, tokens_per_fill: { value: 10 }, fill_interval: { seconds: 1 } },
        }),
      },
      {
        name: 'envoy.filters.http.router',
        typed_config: pack('envoy.extensions.filters.http.router.v3.Router', { suppress_envoy_headers: true }),
      },
    ],
    common_http_protocol_options: { idle_timeout: { seconds: 300 }, headers_with_underscores_action: 'REJECT_REQUEST' },
    http2_protocol_options: { max_concurrent_streams: { value: 128 }, initial_stream_window_size: { value: 65536 } },
    use_remote_address: { value: true },
    xff_num_trusted_hops: 1,
    stream_idle_timeout: { seconds: 300 },
    request_timeout: { seconds: 30 },
    access_log: [
      {
        name: 'envoy.access_loggers.stdout',
        typed_config: pack('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', {
          log_format: { text_format_source: { inline_string: '%START_TIME% %RESPONSE_CODE%\n' } },
        }),
      },
    ],
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    tracing: {
      random_sampling: { value: 1.5 },
      custom_tags: [{ tag: 'mesh', literal: { value: 'ringside' } }, { tag: 'ua', request_header: { name: 'user-agent' } }],
    },
    normalize_path: { value: true },
    merge_slashes: true,
    path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
  };

  const upstreamTlsContext = {
    sni: 'backend.default.svc.cluster.local',
    allow_renegotiation: true,
    max_session_keys: { value: 4 },
    common_tls_context: {
      alpn_protocols: ['h2', 'http/1.1'],
      tls_params: {
        tls_minimum_protocol_version: 'TLSv1_2',
        tls_maximum_protocol_version: 'TLSv1_3',
        cipher_suites: ['ECDHE-ECDSA-AES128-GCM-SHA256'],
      },
      tls_certificates: [
        {
          certificate_chain: { filename: '/etc/certs/cert-chain.pem' },
          private_key: { inline_bytes: Buffer.from([0, 1, 2, 250, 251, 252, 253]) },
        },
      ],
      tls_certificate_sds_secret_configs: [
        {
          name: 'default',
          sds_config: {
            api_config_source: {
              api_type: 'GRPC',
              transport_api_version: 'V3',
              grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }],
            },
            initial_fetch_timeout: { nanos: 1 },
          },
        },
      ],
      combined_validation_context: {
        default_validation_context: {
          match_typed_subject_alt_names: [
            { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/backend' } },
          ],
        },
        validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ads },
      },
    },
  };

  const clusterType = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
  return [
    {
      name: 'bootstrap',
      type: 'envoy.config.bootstrap.v3.Bootstrap',
      message: bootstrap,
      checks: {
        'node.id': bootstrap.node.id,
        'admin.port': 15000,
        'listener.name': 'virtualInbound',
        'listener.port': 15006,
        'listener.tcp_proxy.stat_prefix': 'inbound_8080',
        'listener.tcp_proxy.cluster': 'backend',
        'cluster.name': 'backend',
        'cluster.connect_timeout.seconds': 5,
        'cluster.connect_timeout.nanos': 250000000,
        'cluster.lb_policy': enumValue(CLUSTER, 'LbPolicy', 'LEAST_REQUEST'),
        'cluster.endpoint[1].port': 9002,
        'cluster.endpoint[1].weight': 3,
        'dns_cluster.type': enumValue(CLUSTER, 'DiscoveryType', 'STRICT_DNS'),
        'dns_cluster.dns_lookup_family': enumValue(CLUSTER, 'DnsLookupFamily', 'V4_ONLY'),
      },
    },
    {
      name: 'route_configuration',
      type: 'envoy.config.route.v3.RouteConfiguration',
      message: routeConfiguration,
      checks: {
        name: 'local_route',
        'vhost.domain[0]': 'backend',
        'route.weighted[1].name': 'v2',
        'route.weighted[1].weight': 10,
        'route.retry.num_retries': 3,
        'route.retry.retry_on': '5xx,connect-failure',
      },
    },
    {
      name: 'http_connection_manager',
      type: HCM,
      message: httpConnectionManager,
      checks: {
        stat_prefix: 'ingress_http',
        codec_type: enumValue(HCM, 'CodecType', 'HTTP1'),
        'http_filter[0].name': 'envoy.filters.http.fault',
      },
    },
    {
      name: 'upstream_tls_context',
      type: `${TLS}.UpstreamTlsContext`,
      message: upstreamTlsContext,
      checks: { sni: upstreamTlsContext.sni, 'alpn[0]': 'h2' },
    },
    {
      name: 'discovery_request_nack',
      type: 'envoy.service.discovery.v3.DiscoveryRequest',
      message: {
        version_info: '41',
        node: { id: 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local', cluster: 'app.default' },
        resource_names: ['backend', 'dns'],
        type_url: clusterType,
        response_nonce: 'nonce-42',
        error_detail: {
          code: 3,
          message: 'cluster backend: unknown field lb_subset_config',
          details: [pack('google.protobuf.StringValue', { value: 'static_resources.clusters[0]' })],
        },
      },
      checks: { type_url: clusterType, response_nonce: 'nonce-42', 'error_detail.code': 3 },
    },
    {
      name: 'discovery_response_clusters',
      type: 'envoy.service.discovery.v3.DiscoveryResponse',
      message: {
        version_info: '42',
        resources: [pack(CLUSTER, edsCluster), pack(CLUSTER, dnsCluster)],
        type_url: clusterType,
        nonce: 'nonce-43',
        control_plane: { identifier: 'ringside-control' },
      },
      checks: { version_info: '42', n_resources: 2, 'resource[0].type_url': clusterType },
    },
    {
      name: 'discovery_response_endpoints',
      type: 'envoy.service.discovery.v3.DiscoveryResponse',
      message: {
        version_info: '7',
        resources: [pack('envoy.config.endpoint.v3.ClusterLoadAssignment', staticCluster.load_assignment)],
        type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
        nonce: 'n',
      },
      checks: {
        version_info: '7',
        n_resources: 1,
        'resource[0].type_url': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      },
    },
    {
      name: 'delta_discovery_request',
      type: 'envoy.service.discovery.v3.DeltaDiscoveryRequest',
      message: {
        node: { id: 'n1' },
        type_url: clusterType,
        resource_names_subscribe: ['a', 'b'],
        resource_names_unsubscribe: ['c'],
        initial_resource_versions: { a: '1', b: '2' },
        response_nonce: 'x',
      },
    },
    {
      // Proves the harness: api_listener (19) is outside our subset, so it must come back as an
      // unknown field rather than pass unnoticed.
      name: 'detects_unknown_field',
      type: 'envoy.config.listener.v3.Listener',
      message: { name: 'api', api_listener: { api_listener: pack(HCM, { stat_prefix: 'api' }) } },
      expectUnknown: 'Listener #19',
    },
  ];
};
