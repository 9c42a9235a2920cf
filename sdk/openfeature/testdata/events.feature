@events
Feature: Provider events of the ramp OpenFeature provider
  The provider reports the state of its connection to the ramp server as OpenFeature
  events, and keeps serving the last good flags whenever the server is gone.

  Background:
    Given a ramp server with the string flag "greeting" serving "hi"

  Scenario: READY once the server confirms the flags
    When a provider is registered
    Then the provider emits READY
    And the provider state is "READY"
    And the flag "greeting" evaluates to "hi" with reason "STATIC"

  Scenario: CONFIGURATION_CHANGED names the flags that changed
    Given a ready provider
    When the flag "greeting" is changed to serve "bye"
    Then the provider emits CONFIGURATION_CHANGED for the flags "greeting"
    And the flag "greeting" evaluates to "bye" with reason "STATIC"
    And the provider state is "READY"

  Scenario: STALE when the stream is lost, READY when the server is back
    Given a ready provider
    When the server goes down
    Then the provider emits STALE
    And the provider state is "STALE"
    And the flag "greeting" evaluates to "hi" with reason "STATIC"
    When the server comes back
    Then the provider emits READY
    And the provider state is "READY"

  Scenario: ERROR after the grace period without the server
    Given a ready provider with a grace period of 200 ms
    When the server goes down
    Then the provider emits STALE
    And the provider emits ERROR
    And the provider state is "ERROR"
    And the flag "greeting" evaluates to "hi" with reason "STATIC"
    When the server comes back
    Then the provider emits READY

  Scenario: ERROR when the server never answers, READY when it does
    Given the server is down
    When a provider with a grace period of 200 ms is registered
    Then the provider emits ERROR
    And the provider state is "ERROR"
    And the flag "greeting" evaluates to the default with the error code "PROVIDER_NOT_READY"
    When the server comes back
    Then the provider emits READY
    And the flag "greeting" evaluates to "hi" with reason "STATIC"

  Scenario: FATAL when the SDK key is revoked
    Given a ready provider
    When the SDK key is revoked
    Then the provider emits ERROR
    And the provider state is "FATAL"
    And the flag "greeting" evaluates to the default with the error code "PROVIDER_FATAL"

  Scenario: FATAL at registration with an unknown SDK key
    When a provider with the SDK key "ramp_srv_unknown" is registered
    Then the provider emits ERROR
    And the provider state is "FATAL"
