"""The GraphQL documents `DagsterClient` sends to the Dagster webserver (`clients/dagster.py`)."""

from __future__ import annotations

METADATA_FRAGMENT = """
fragment Meta on MetadataEntry {
  label
  __typename
  ... on TextMetadataEntry { text }
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on BoolMetadataEntry { boolValue }
  ... on TimestampMetadataEntry { timestamp }
  ... on JsonMetadataEntry { jsonString }
  ... on PathMetadataEntry { path }
  ... on UrlMetadataEntry { url }
  ... on MarkdownMetadataEntry { mdStr }
}
"""

WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        updatedTimestamp
        locationOrLoadError { __typename ... on PythonError { message stack causes { message stack } } }
      }
    }
    ... on PythonError { message }
  }
}
"""

RELOAD_MUTATION = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry { name loadStatus }
    ... on PythonError { message }
  }
}
"""

ASSET_NODES_QUERY = """
query {
  assetNodes {
    assetKey { path }
    groupName
    isExecutable
    dependencyKeys { path }
    partitionDefinition { description }
    hasAssetChecks
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
}
"""

ASSETS_WITH_HISTORY_QUERY = """
query { assetsOrError { __typename ... on AssetConnection { nodes { key { path } } } } }
"""

PARTITION_KEYS_QUERY = """
query Keys($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode { partitionKeys }
    ... on AssetNotFoundError { message }
  }
}
"""

PARTITION_STATS_QUERY = """
query { assetNodes { assetKey { path } partitionStats { numMaterialized numPartitions numFailed } } }
"""

WIPE_ASSETS_MUTATION = """
mutation Wipe($ranges: [PartitionsByAssetSelector!]!) {
  wipeAssets(assetPartitionRanges: $ranges) { __typename ... on PythonError { message } }
}
"""

MATERIALIZATIONS_QUERY = (
    METADATA_FRAGMENT
    + """
query Mats($key: AssetKeyInput!, $limit: Int!, $after: String) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset {
      assetMaterializations(limit: $limit, afterTimestampMillis: $after) {
        runId
        timestamp
        partition
        tags { key value }
        metadataEntries { ...Meta }
      }
    }
  }
}
"""
)

CHECK_QUERY = (
    METADATA_FRAGMENT
    + """
query Checks($key: AssetKeyInput!, $name: String!, $limit: Int!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: $limit) {
    runId
    status
    timestamp
    evaluation { success severity timestamp metadataEntries { ...Meta } }
  }
}
"""
)

SENSOR_TICKS_QUERY = """
query Ticks($selector: SensorSelector!, $limit: Int) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState {
        ticks(limit: $limit) {
          status timestamp runIds error { message causes { message } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs {
      results {
        runId jobName status creationTime startTime endTime
        tags { key value }
        assetSelection { path }
      }
    }
    ... on PythonError { message }
  }
}
"""

RUN_FAILURES_QUERY = """
query Failures($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      eventConnection(limit: 1000) {
        events {
          __typename
          ... on ExecutionStepFailureEvent { stepKey error { message causes { message } } }
        }
      }
    }
  }
}
"""

LAUNCH_MUTATION = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on Error { message }
  }
}
"""

CANCEL_RUN_MUTATION = """
mutation Cancel($runId: String!) {
  terminateRun(runId: $runId, terminatePolicy: MARK_AS_CANCELED_IMMEDIATELY) {
    __typename ... on PythonError { message } ... on TerminateRunFailure { message }
  }
}
"""

DELETE_RUN_MUTATION = """
mutation Delete($runId: String!) {
  deleteRun(runId: $runId) { __typename ... on PythonError { message } }
}
"""

SCHEDULE_QUERY = """
query Schedule($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule {
      name cronSchedule executionTimezone
      scheduleState { id status }
      futureTicks(limit: 1) { results { timestamp } }
    }
    ... on Error { message }
  }
}
"""

START_SCHEDULE_MUTATION = """
mutation Start($selector: ScheduleSelector!) {
  result: startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on Error { message }
  }
}
"""

STOP_SCHEDULE_MUTATION = """
mutation Stop($id: String!) {
  result: stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on Error { message }
  }
}
"""
