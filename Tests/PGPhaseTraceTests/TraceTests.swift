import PGPhaseLint
import PGPhaseModel
import PGPhaseSQL
import PGPhaseTestSupport
import PGPhaseTrace
import Testing
