// Every GraphQL document the console sends, here and nowhere else (tests/test_console_documents.py
// refuses a document written in another module). The audit log says what a request did in the
// console's words (查看人员档案) only when its document is one of these: the server knows them by
// their query hash (auth/audit/console_documents.json, written from this module by
// `python tools/console_documents.py`), not by the operation name a client chooses, which any agency
// system could borrow. A document edited here without writing the registry again fails that test.
//
// Plain data only: strings, and lists and records of strings (a document built for a batch size
// or a filter is here once per variant), with no imports, so that the tool can run the module
// outside the browser and find every document it exports.

/** How many records one aliased lookup asks for at most (under the server's alias limit). */
export const PERSON_BATCH = 10;
export const DIVISION_BATCH = 12;
export const CASE_BATCH = 10;

function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

// ---- the session --------------------------------------------------------------------------------

export const ME = "query Me { me { agencyId agencyName agencyType role jurisdiction jurisdictionName capabilities } }";
export const AGENCY_NAMES = "query AgencyNames($ids: [String!]!) { agencyNames(ids: $ids) { id name } }";

/** PERSON_NAMES[n - 1]: the names of n people, `p0` … by `$p0` …. */
export const PERSON_NAMES: string[] = upTo(PERSON_BATCH).map(
  (k) =>
    `query PersonNames(${upTo(k).map((n) => `$p${n - 1}: ID!`).join(", ")}) { ${upTo(k)
      .map((n) => `p${n - 1}: person(id: $p${n - 1}) { id name }`)
      .join(" ")} }`,
);

// ---- divisions and statistics -------------------------------------------------------------------

/** DIVISION_NAMES[n - 1]: the names of n divisions, `d0` … by `$c0` …. */
export const DIVISION_NAMES: string[] = upTo(DIVISION_BATCH).map(
  (k) =>
    `query DivisionNames(${upTo(k).map((n) => `$c${n - 1}: String!`).join(", ")}) { ${upTo(k)
      .map((n) => `d${n - 1}: division(code: $c${n - 1}) { code name }`)
      .join(" ")} }`,
);
export const DIVISIONS = "query Divisions { divisions { code name } }";
export const COUNTS = `query Counts($division: String!) { classificationCounts(division: $division) { division counts { key count } } }`;
export const SERIES = `query Series($division: String!, $group: StatGroup!) {
  statistics(division: $division, groupBy: $group) { takenAt counts { key count } }
}`;
export const CROSS_CHECK = `query CrossCheck($d: String!) { crossCheck(division: $d, examples: 20) {
  asOf division children findings { finding count examples { id name } } conflictingAttributes { attribute count } } }`;

// ---- finding people -----------------------------------------------------------------------------

const ROW = "id name sex birthDate division";
export const BY_ID_NUMBER = `query ById($n: String!) { personByIdNumber(idNumber: $n) { ${ROW} } }`;
export const IN_DIVISION = `query InDivision($d: String!) { people(division: $d, first: 100) { edges { node { ${ROW} } } } }`;
export const SEARCH = `query Search($n: String!) { searchPeople(name: $n, first: 50) { edges { node { ${ROW} } } } }`;
export const VILLAGE = `query Village($d: String!, $after: String) { villageChildren(division: $d, first: 500, after: $after) {
            edges { node { id name birthDate } } pageInfo { hasNextPage endCursor } } }`;

// ---- a person's file ----------------------------------------------------------------------------

const SRC = "sources { system recordId at }";

// Each document is one audited request whose row-scope check loads the person's neighbourhood
// (measured: most of a request's server time), so the file is asked in as few documents as the
// server's cost limit allows (5,000; a list of sources inside a list is priced at 20 × 20): four,
// the child's own facts and verdict first, then the other three in parallel. Costs: facts + verdict 1,568, family +
// education events 4,376, records 3,985, cases 3,965 (bench/console_bench.py prints the count).
const CLASSIFICATION_FIELDS = `leftBehind inDistress categories priority lastVisit
  verdicts { category holds missing }
  reasons { rule zh weight evidence }
  facts { about basis text value }`;

export const PROFILE_QUERIES = [
  `query ProfileFacts($id: ID!, $verdict: Boolean!) { person(id: $id) {
    id name namePinyin sex birthDate idNumber phone hukouType disability division
    registeredAddress residenceAddress worksAway workDestination guardianshipCapacity incapacityReason
    ${SRC} conflicts { attribute values ${SRC} } }
    classification(personId: $id) @include(if: $verdict) { ${CLASSIFICATION_FIELDS} } }`,
  `query ProfileFamily($id: ID!) { person(id: $id) { id
    household { id householdNumber hukouType division ${SRC} members { relationToHead person { id name } } }
    parents { role ${SRC} person { id name worksAway workDestination guardianshipCapacity } }
    children { role person { id name birthDate } }
    guardians { kind since until ${SRC} person { id name guardianshipCapacity } }
    wards { kind since person { id name } }
    educationEvents { id kind occurredOn days ${SRC} } } }`,
  `query ProfileRecords($id: ID!) { person(id: $id) { id
    agreements { id kind signedOn validFrom validTo ${SRC} }
    enrolments { grade boarding status startDate ${SRC} school { id name } }
    visits { id visitedOn visitor findings ${SRC} } } }`,
  `query ProfileCases($id: ID!) { person(id: $id) { id
    reports { id situation status filedAt reporterAgency ${SRC} }
    cases { id kind riskLevel status openedAt agency ${SRC} }
    healthEvents { id kind icd10 occurredOn ${SRC} } } }`,
];

export const PSEUDONYMISED = `query Pseudonymised($start: ID!) { network(start: $start, depth: 1) {
      nodes { id kind label properties { name value decision reason } } } }`;
export const REIDENTIFY = "query Reidentify($p: [ID!]!) { networkReidentify(pseudonyms: $p) { id } }";

const PROPS = "properties { name value decision reason }";
export const NETWORK = `query Network($start: ID!, $depth: Int!, $types: [String!]) {
  network(start: $start, depth: $depth, relTypes: $types) {
    start pseudonymised
    nodes { id kind label ${PROPS} }
    edges { id type source target ${PROPS} }
  }
}`;

// ---- visits -------------------------------------------------------------------------------------

const SIDE = "version visitedOn findings livingArrangement notes";
export const VISIT = `mutation Visit($input: VisitInput!) { recordVisit(input: $input) {
      status record { version } conflict { id mine { ${SIDE} } theirs { ${SIDE} } } } }`;
export const RESOLVE = `mutation Resolve($id: Int!, $choice: ConflictChoice!) { resolveVisitConflict(conflictId: $id, choice: $choice) { status record { version } } }`;
export const VISIT_VERSION = "query V($id: ID!) { childVisitRecord(personId: $id) { version } }";

// ---- agreements ---------------------------------------------------------------------------------

export const FLAGS = `query Flags($d: String) { agreementFlags(division: $d) { childId reason guardianId detail } }`;
export const AGREEMENT_FAMILY = `query AgreementFamily($id: ID!) { person(id: $id) {
  name
  parents { role person { id name } }
  guardians { kind person { id name } }
  household { members { relationToHead person { id name } } }
} }`;
export const AGREEMENTS = `query Agreements($id: ID!) { agreements(childId: $id) { id kind signedOn validFrom validTo guardian { id name } } }`;
export const RECORD_AGREEMENT = `mutation RecordAgreement($i: AgreementInput!) { recordAgreement(input: $i) { id kind } }`;

// ---- reports and cases --------------------------------------------------------------------------

export const FILE_REPORT = `mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id status } }`;
export const INBOX = `query Inbox { reportsInbox { id childId caseId situation status summary filedAt acceptDueAt acknowledgedAt reporterAgencyId } }`;
/** What a case needs for its 应急处置 buttons (worklist.ts `emergencyActions`). */
const EMERGENCY_FIELDS = "policeAgencyId allowedEmergencyActions";
// The cases the accepted reports opened, for 应急处置 beside the deadline (a role that may not
// read cases simply gets no measures column).
export const INBOX_CASES = `query InboxCases { protectionCases(openOnly: true) { id status ${EMERGENCY_FIELDS} } }`;
/** A report acknowledged or accepted, by the mutation's name. */
export const REPORT_ACT: Record<"acknowledgeReport" | "acceptReport", string> = {
  acknowledgeReport: `mutation Act($id: ID!) { acknowledgeReport(reportId: $id) { id status } }`,
  acceptReport: `mutation Act($id: ID!) { acceptReport(reportId: $id) { id status } }`,
};

export const WORKLIST = `query Worklist($division: String!, $rule: String, $first: Int!, $offset: Int!) {
  worklist(division: $division, rule: $rule, first: $first, offset: $offset) {
    division total byRule { key count }
    entries { personId name division categories priority lastVisit rules reasons }
  }
}`;
export const RESCREEN = `mutation Rescreen($division: String!) { recomputeClassification(division: $division) { children seconds } }`;
export const MY_STEPS = `query MySteps { myOpenSteps { id caseId kind status dueAt overdue } }`;
export const MY_CASES = `query MyCases($openOnly: Boolean!) {
  protectionCases(openOnly: $openOnly) {
    id childId situation status riskLevel division openedAt agencyId ${EMERGENCY_FIELDS} child { name }
  }
}`;
export const MEASURE = "mutation Measure($i: EmergencyActionInput!) { recordEmergencyAction(input: $i) { id } }";
export const NOTIFY = "mutation Notify($id: ID!) { notifyTownship(caseId: $id) { id } }";

export const CASE_FILE = `query CaseFile($id: ID!) { protectionCase(id: $id) {
  id childId child { name } situation status riskLevel agencyId policeAgencyId townshipAgencyId
  openedAt closedAt closureReason assessmentParticipants
  steps { id kind status agencyId dueAt doneAt overdue }
  assessments { id participants safety guardianship physicalHealth mentalHealth riskLevel assessedOn }
  services { id kind provider status openedAt closedAt outcome }
  followUps { serviceId at note nextDueOn }
  interventions { id kind grounds status occurredOn decision decidedOn temporaryGuardian guardian { id name } newGuardian { id name } }
} }`;
export const CASE_FAMILY = `query CaseFamily($id: ID!) { person(id: $id) {
  parents { role person { id name } }
  guardians { kind person { id name } }
  household { members { relationToHead person { id name } } }
} }`;
const RETURN = "{ id status }";
export const OPEN_ASSESSMENT = `mutation Open($id: ID!, $p: [String!]!) { openAssessment(caseId: $id, participants: $p) ${RETURN} }`;
export const ASSESS = `mutation Assess($i: AssessmentInput!) { recordAssessment(input: $i) ${RETURN} }`;
export const FOLLOW_UP = `mutation Follow($id: ID!, $svc: ID, $note: String!) { recordFollowUp(caseId: $id, serviceId: $svc, note: $note) ${RETURN} }`;
export const COMPLETE = `mutation Done($svc: ID!, $o: String!) { completeService(serviceId: $svc, outcome: $o) ${RETURN} }`;
export const ARRANGE = `mutation Plan($id: ID!, $s: [ServiceInput!]!) { arrangeServices(caseId: $id, services: $s) ${RETURN} }`;
export const CLOSE = `mutation Close($id: ID!, $r: String!) { closeCase(caseId: $id, reason: $r) ${RETURN} }`;
export const INTERVENTION = `mutation Itv($i: InterventionInput!) { recordIntervention(input: $i) ${RETURN} }`;
export const PETITION = `mutation Petition($i: PetitionInput!) { petitionCourt(input: $i) ${RETURN} }`;
export const DECIDE_GUARDIANSHIP = `mutation Decide($i: GuardianshipDecisionInput!) { decideGuardianship(input: $i) ${RETURN} }`;

// ---- matches ------------------------------------------------------------------------------------

const MENTION = "system recordId personId role name idNumber sex birthDate division phone linkMethod";
export const REVIEWS = `query Reviews($first: Int!) { matchReviews(first: $first) { totalInScope items { id score status left { ${MENTION} } right { ${MENTION} } } } }`;
export const MERGE = `mutation Merge($id: Int!) { mergeMatch(reviewId: $id) { mergeId movedRecords } }`;
export const REJECT = `mutation Reject($id: Int!) { rejectMatch(reviewId: $id) { id status } }`;
export const UNDO = `mutation Undo($id: Int!) { undoMerge(mergeId: $id) { movedRecords } }`;

// ---- periodic reports ---------------------------------------------------------------------------

const PERIODIC_FIELDS = "division level kind period deadline status overdue submittedAt decidedAt note rows { division counts { key count } } totals { key count } lowerLevels { division status }";
export const PERIODIC = `query Periodic($d: String!, $p: String!) { periodicReport(division: $d, period: $p) { ${PERIODIC_FIELDS} } }`;
export const SUBMIT = `mutation Submit($d: String!, $p: String!) { submitPeriodicReport(division: $d, period: $p) { status } }`;
export const DECIDE_REPORT = `mutation DecideReport($d: String!, $p: String!, $a: Boolean!, $n: String) { decidePeriodicReport(division: $d, period: $p, approve: $a, note: $n) { status } }`;
export const REPORT_FILE = `query ReportFile($d: String!, $p: String!) { periodicReportFile(division: $d, period: $p, format: XLSX) { filename contentType contentBase64 } }`;

// ---- the audit log ------------------------------------------------------------------------------

const ENTRY = `seq at clientId agencyId agencyType role purpose operation knownOperation decision reasons records
  allowedFields maskedFields deniedFields breakGlass breakGlassJustification resultSize status`;
const SINCE_UNTIL = ["$since: DateTime", "$until: DateTime", "$after: Int"];
const PAGED = "since: $since, until: $until, first: 200, afterSeq: $after";

/** A page of the audit log, by the filter's kind: `$recordId` or `$agencyId` where it asks for one. */
export const AUDIT: Record<"record" | "agency" | "denied" | "breakGlass", string> = {
  record: `query Audit(${[...SINCE_UNTIL, "$recordId: ID!"].join(", ")}) { page: auditAccessesToRecord(${PAGED}, recordId: $recordId) { entries { ${ENTRY} } nextAfterSeq } }`,
  agency: `query Audit(${[...SINCE_UNTIL, "$agencyId: String!"].join(", ")}) { page: auditAccessesByAgency(${PAGED}, agencyId: $agencyId) { entries { ${ENTRY} } nextAfterSeq } }`,
  denied: `query Audit(${SINCE_UNTIL.join(", ")}) { page: auditDeniedAttempts(${PAGED}) { entries { ${ENTRY} } nextAfterSeq } }`,
  breakGlass: `query Audit(${SINCE_UNTIL.join(", ")}) { page: auditBreakGlassUses(${PAGED}) { entries { ${ENTRY} } nextAfterSeq } }`,
};
export const AUDIT_TODAY = `query AuditToday($since: DateTime) {
      denied: auditDeniedAttempts(since: $since, first: 500) { entries { seq } nextAfterSeq }
      breakGlass: auditBreakGlassUses(reviewed: false, first: 500) { entries { seq } nextAfterSeq }
      volume: auditUnusualVolume { clientId agencyIds count threshold }
    }`;
export const MEMBER_AGENCIES = "query MemberAgencies { memberAgencies { id name agencyType } }";
export const AUDITED_CASE = "query AuditedCase($id: ID!) { protectionCase(id: $id) { situation child { name } } }";
/** AUDITED_CASES[n - 1]: n cases' child's name and situation, `c0` … by `$c0` …. */
export const AUDITED_CASES: string[] = upTo(CASE_BATCH).map(
  (k) =>
    `query AuditedCases(${upTo(k).map((n) => `$c${n - 1}: ID!`).join(", ")}) { ${upTo(k)
      .map((n) => `c${n - 1}: protectionCase(id: $c${n - 1}) { situation child { name } }`)
      .join(" ")} }`,
);
export const CHAIN = "query Chain { auditChainStatus { ok checked firstBrokenSeq reason } }";
