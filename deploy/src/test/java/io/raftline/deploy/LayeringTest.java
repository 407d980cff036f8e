package io.raftline.deploy;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module table of DESIGN.md as rules: dependency arrows point downward only, the pure modules
 * stay pure, and Hazelcast never reaches production code. Maven's module graph already stops most
 * wrong imports; these rules also catch the ones it cannot see (for example Vert.x in
 * metadata-projection, which gets it transitively through protocol).
 */
class LayeringTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.raftline");
  }

  @Test
  void protocolDependsOnNoOtherModule() {
    noClasses().that().resideInAPackage("io.raftline.protocol..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftline.metadata..", "io.raftline.quorum..",
            "io.raftline.broker..", "io.raftline.client..", "io.raftline.deploy..")
        .check(classes);
  }

  @Test
  void metadataProjectionImportsNoVertxAndNoServerModule() {
    noClasses().that().resideInAPackage("io.raftline.metadata..")
        .should().dependOnClassesThat().resideInAnyPackage("io.vertx..", "io.netty..", "io.raftline.quorum..",
            "io.raftline.broker..", "io.raftline.client..", "io.raftline.deploy..", "java.util.concurrent..")
        .check(classes);
  }

  @Test
  void onlySnapshotsTouchFilesInMetadataProjection() {
    noClasses().that().resideInAPackage("io.raftline.metadata..")
        .and().resideOutsideOfPackage("io.raftline.metadata.snapshot..")
        .should().dependOnClassesThat().resideInAnyPackage("java.nio.channels..", "java.nio.file..", "java.io..")
        .check(classes);
  }

  @Test
  void brokerSeesTheQuorumOnlyThroughContracts() {
    noClasses().that().resideInAPackage("io.raftline.broker..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftline.quorum..", "io.raftline.client..",
            "io.raftline.deploy..")
        .check(classes);
  }

  @Test
  void quorumDoesNotKnowBrokersOrClients() {
    noClasses().that().resideInAPackage("io.raftline.quorum..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftline.broker..", "io.raftline.client..",
            "io.raftline.deploy..")
        .check(classes);
  }

  @Test
  void clientDependsOnNoServerModule() {
    noClasses().that().resideInAPackage("io.raftline.client..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftline.metadata..", "io.raftline.quorum..",
            "io.raftline.broker..", "io.raftline.deploy..")
        .check(classes);
  }

  @Test
  void raftCoreAndControllerArePureStateMachines() {
    noClasses().that().resideInAnyPackage("io.raftline.quorum.raft..", "io.raftline.quorum.controller..")
        .should().dependOnClassesThat().resideInAnyPackage("io.vertx..", "io.netty..", "java.io..", "java.nio..",
            "java.net..", "java.util.concurrent..", "io.raftline.quorum.log..")
        .check(classes);
  }

  @Test
  void noProductionCodeNeedsHazelcast() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("com.hazelcast..", "io.vertx.spi.cluster..")
        .check(classes);
  }
}
