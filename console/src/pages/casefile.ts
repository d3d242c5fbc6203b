// One protection case (个案), /console/case/<id>: its stage, steps and deadlines, and the actions
// of the stage the caller's agency may take — 评估 (open, record), 帮扶 (services, follow-ups,
// completion, closure), 监护干预 (measures, the court petition) and the court's decision naming a
// new guardian. What is offered follows the caller's capabilities and the case's stage; the
// server checks both again and a refusal is explained in words.

import { gql, topLevelError } from "../api";
import { type Child, h, mount, notice, submitting } from "../dom";
import { code, codeOptions, fmtDate, fmtDateTime, t, todayBeijing } from "../i18n";
import { agencyNames, can, cachedMe } from "../me";
import { href } from "../router";
import { act, codeSelect, explain, field, personSelect, statusLine } from "./workflow";
import { ARRANGE, ASSESS, CASE_FAMILY, CASE_FILE, CLOSE, COMPLETE, DECIDE_GUARDIANSHIP, FOLLOW_UP, INTERVENTION, OPEN_ASSESSMENT, PETITION } from "../documents";

type Rec = Record<string, unknown>;
interface Named {
  id: string;
  name: string | null;
}
interface CaseFile {
  id: string;
  childId: string;
  child: { name: string | null } | null;
  situation: string | null;
  status: string | null;
  riskLevel: string | null;
  agencyId: string | null;
  policeAgencyId: string | null;
  townshipAgencyId: string | null;
  openedAt: string | null;
  closedAt: string | null;
  closureReason: string | null;
  assessmentParticipants: string[] | null;
  steps: { id: string; kind: string | null; status: string | null; agencyId: string | null; dueAt: string | null; doneAt: string | null; overdue: boolean }[] | null;
  assessments: { id: string; participants: string | null; safety: string | null; guardianship: string | null; physicalHealth: string | null; mentalHealth: string | null; riskLevel: string | null; assessedOn: string | null }[] | null;
  services: { id: string; kind: string | null; provider: string | null; status: string | null; openedAt: string | null; closedAt: string | null; outcome: string | null }[] | null;
  followUps: { serviceId: string | null; at: string | null; note: string | null; nextDueOn: string | null }[] | null;
  interventions: {
    id: string;
    kind: string | null;
    grounds: string | null;
    status: string | null;
    occurredOn: string | null;
    decision: string | null;
    decidedOn: string | null;
    temporaryGuardian: string | null;
    guardian: Named | null;
    newGuardian: Named | null;
  }[] | null;
}


const POLICE_KINDS = ["admonition", "public_security_penalty", "criminal_referral"];
const GROUNDS = ["unsupervised_in_danger_unchanged", "duty_refused_six_months", "abuse_serious_harm"];
const SERVICE_KINDS = codeOptions("serviceKind").map(([k]) => k);

interface Relative extends Named {
  role: string;
}

/** The child's parents, guardians and household, by name, as far as the caller may see them. */
async function family(childId: string): Promise<Relative[]> {
  const r = await gql<{ person: Rec | null }>(CASE_FAMILY, { id: childId });
  const p = r.data?.person;
  if (!p) return [];
  const out = new Map<string, Relative>();
  const add = (person: Named | null | undefined, role: string): void => {
    if (person?.id && person.id !== childId && !out.has(person.id)) out.set(person.id, { id: person.id, name: person.name, role });
  };
  for (const rel of (p.parents as Rec[] | null) ?? []) add(rel.person as Named, code("role", rel.role as string));
  for (const rel of (p.guardians as Rec[] | null) ?? []) add(rel.person as Named, code("guardianKind", rel.kind as string));
  const hh = p.household as Rec | null;
  for (const m of (hh?.members as Rec[] | null) ?? []) add(m.person as Named, code("role", m.relationToHead as string));
  return [...out.values()];
}

export async function renderCaseFile(root: HTMLElement, caseId: string): Promise<void> {
  mount(root, notice(t("loading")));
  const r = await gql<{ protectionCase: CaseFile | null }>(CASE_FILE, { id: caseId });
  const err = topLevelError(r);
  if (err || !r.data?.protectionCase) {
    mount(root, h("h1", {}, t("navCases")), notice(err ? explain(err) : t("notFound"), "error"));
    return;
  }
  const c = r.data.protectionCase;
  const [agencies, relatives] = await Promise.all([
    agencyNames([c.agencyId, c.policeAgencyId, c.townshipAgencyId, ...(c.assessmentParticipants ?? []), ...(c.steps ?? []).map((s) => s.agencyId)]),
    family(c.childId),
  ]);
  const agency = (id: string | null | undefined): string => (id ? agencies.get(id) ?? t("unnamedAgency") : "—");
  const reload = (): Promise<void> => renderCaseFile(root, caseId);
  const childName = c.child?.name ?? t("nameNotPermitted");

  mount(
    root,
    h("h1", { id: "case-title", "data-case": c.id, "data-status": c.status ?? "" }, t("caseFileTitle", { child: childName })),
    h("p", { class: "hint" }, t("caseFileHint")),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-case-summary" },
      h("h2", { id: "h-case-summary" }, t("caseSummary")),
      // Who read this case: the audit log of its record, for a role that may read the log.
      can(cachedMe(), "read_audit_log")
        ? h("a", { href: href(`audit?record=${encodeURIComponent(`protectioncase:${c.id}`)}`), id: "case-audit", class: "button small" }, t("caseAccessLog"))
        : null,
      h(
        "dl",
        { class: "facts" },
        ([
          [t("colChild"), h("a", { href: href(`person/${encodeURIComponent(c.childId)}`), class: "person-link" }, childName)],
          [t("fSituation"), code("situation", c.situation)],
          [t("fCaseStatus"), h("span", { id: "case-status", "data-code": c.status ?? "" }, code("caseStatus", c.status))],
          [t("fRisk"), code("risk", c.riskLevel)],
          [t("fLead"), agency(c.agencyId)],
          [t("fPolice"), agency(c.policeAgencyId)],
          [t("fTownship"), agency(c.townshipAgencyId)],
          [t("fOpened"), fmtDateTime(c.openedAt)],
          c.closedAt ? [t("fClosed"), fmtDateTime(c.closedAt)] : null,
          c.closureReason ? [t("fClosureReason"), c.closureReason] : null,
        ] as ([string, Child] | null)[])
          .filter((x): x is [string, Child] => x !== null)
          .map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
      ),
    ),
    stepsCard(c, agency),
    assessmentCard(c, agency, reload),
    assistanceCard(c, reload),
    interventionCard(c, relatives, reload),
  );
}

function stepsCard(c: CaseFile, agency: (id: string | null) => string): HTMLElement {
  const steps = c.steps ?? [];
  return h(
    "section",
    { class: "card", "aria-labelledby": "h-case-steps" },
    h("h2", { id: "h-case-steps" }, t("caseSteps")),
    steps.length === 0
      ? notice(t("noOpenSteps"))
      : h(
          "table",
          { class: "list", id: "case-steps" },
          h("caption", { class: "sr-only" }, t("caseSteps")),
          h("thead", {}, h("tr", {}, [t("colStep"), t("colStepAgency"), t("colDue"), t("colState"), t("colDone")].map((x) => h("th", { scope: "col" }, x)))),
          h(
            "tbody",
            {},
            steps.map((s) =>
              h(
                "tr",
                { "data-kind": s.kind ?? "", class: s.overdue ? "overdue" : "" },
                h("td", {}, code("step", s.kind)),
                h("td", {}, agency(s.agencyId)),
                h("td", {}, fmtDateTime(s.dueAt), s.overdue ? h("span", { class: "badge failed" }, t("overdue")) : null),
                h("td", {}, code("stepStatus", s.status)),
                h("td", {}, fmtDateTime(s.doneAt)),
              ),
            ),
          ),
        ),
  );
}

function assessmentCard(c: CaseFile, agency: (id: string | null) => string, reload: () => Promise<void>): HTMLElement | null {
  const leads = can(cachedMe(), "lead_assessment");
  const records = c.assessments ?? [];
  if (!leads && records.length === 0) return null;
  const out = statusLine("assessment-status");
  let form: HTMLElement | null = null;
  if (leads && c.status === "assessment_pending") {
    const boxes = (c.assessmentParticipants ?? []).map((id) =>
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "participant", value: id, checked: true }), agency(id)),
    );
    form = h(
      "form",
      {
        id: "open-assessment",
        onsubmit: submitting((e: Event) => {
          const chosen = [...(e.currentTarget as HTMLFormElement).querySelectorAll<HTMLInputElement>("input[name=participant]:checked")].map((b) => b.value);
          return act(out, t("whatOpenAssessment"), OPEN_ASSESSMENT, { id: c.id, p: chosen }, () => t("assessmentOpened"), reload);
        }),
      },
      h("fieldset", {}, h("legend", {}, t("participantsLabel")), boxes),
      h("button", { type: "submit", id: "open-assessment-submit" }, t("openAssessment")),
    );
  } else if (leads && c.status === "assessment") {
    const input = (id: string): HTMLTextAreaElement => h("textarea", { id, name: id, rows: 2 });
    const risk = codeSelect("a-risk", "risk", ["low", "medium", "high", "critical"], true);
    const fields = { safety: input("a-safety"), guardianship: input("a-guardianship"), physicalHealth: input("a-physical"), mentalHealth: input("a-mental") };
    form = h(
      "form",
      {
        id: "record-assessment",
        onsubmit: submitting(() => {
          const i: Rec = { caseId: c.id, riskLevel: risk.value || null };
          for (const [k, el] of Object.entries(fields)) i[k] = el.value.trim() || null;
          return act(out, t("whatRecordAssessment"), ASSESS, { i }, () => t("assessmentRecorded"), reload);
        }),
      },
      field(t("fSafety"), fields.safety),
      field(t("fGuardianship"), fields.guardianship),
      field(t("fPhysical"), fields.physicalHealth),
      field(t("fMental"), fields.mentalHealth),
      field(t("fRisk"), risk),
      h("button", { type: "submit", id: "record-assessment-submit" }, t("recordAssessment")),
    );
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "h-assessment", id: "assessment" },
    h("h2", { id: "h-assessment" }, t("assessmentTitle")),
    h("p", { class: "hint" }, t("assessmentHint")),
    records.map((a) =>
      h(
        "dl",
        { class: "facts assessment-record" },
        [
          [t("fParticipants"), (a.participants ?? "").split(",").filter(Boolean).map((id) => agency(id)).join("、") || "—"],
          [t("fSafety"), a.safety ?? "—"],
          [t("fGuardianship"), a.guardianship ?? "—"],
          [t("fPhysical"), a.physicalHealth ?? "—"],
          [t("fMental"), a.mentalHealth ?? "—"],
          [t("fRisk"), code("risk", a.riskLevel)],
          [t("fAssessedOn"), fmtDate(a.assessedOn)],
        ].map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
      ),
    ),
    form,
    out,
  );
}

function assistanceCard(c: CaseFile, reload: () => Promise<void>): HTMLElement | null {
  const leads = can(cachedMe(), "lead_assessment");
  const assists = can(cachedMe(), "record_assistance");
  const services = c.services ?? [];
  const followUps = c.followUps ?? [];
  const inAssistance = c.status === "assistance";
  if (services.length === 0 && !(inAssistance && (leads || assists))) return null;
  const out = statusLine("assistance-status");
  const kindOf = new Map(services.map((s) => [s.id, s.kind]));

  const serviceRows = services.map((s) => {
    const open = s.status === "open" && inAssistance && assists;
    const note = h("input", { class: "fu-note", "aria-label": t("followUpNote"), placeholder: t("followUpNote") });
    const outcome = h("input", { class: "svc-outcome", "aria-label": t("outcome"), placeholder: t("outcome") });
    return h(
      "tr",
      { "data-service": s.kind ?? "", "data-status": s.status ?? "" },
      h("td", {}, code("serviceKind", s.kind)),
      h("td", {}, s.provider ?? "—"),
      h("td", {}, code("serviceStatus", s.status)),
      h("td", {}, s.outcome ?? "—"),
      open
        ? h(
            "td",
            { class: "service-actions", "data-action-group": true },
            note,
            h(
              "button",
              {
                type: "button",
                class: "small follow-up",
                onclick: submitting(() =>
                  act(out, t("whatFollowUp"), FOLLOW_UP, { id: c.id, svc: s.id, note: note.value.trim() }, () => t("followUpRecorded"), reload)),
              },
              t("recordFollowUp"),
            ),
            outcome,
            h(
              "button",
              {
                type: "button",
                class: "small complete-service",
                onclick: submitting(() =>
                  act(out, t("whatComplete"), COMPLETE, { svc: s.id, o: outcome.value.trim() }, () => t("serviceCompleted"), reload)),
              },
              t("completeService"),
            ),
          )
        : h("td", {}, "—"),
    );
  });

  let plan: HTMLElement | null = null;
  let close: HTMLElement | null = null;
  if (inAssistance && leads) {
    const kind = codeSelect("svc-kind", "serviceKind", SERVICE_KINDS);
    const provider = h("input", { id: "svc-provider", name: "provider" });
    const basis = h("input", { id: "svc-basis", name: "basis" });
    plan = h(
      "form",
      {
        id: "arrange-service",
        class: "row",
        onsubmit: submitting(() => {
          const s = { kind: kind.value, provider: provider.value.trim(), basis: basis.value.trim() || null };
          return act(out, t("whatArrange"), ARRANGE, { id: c.id, s: [s] }, () => t("serviceArranged", { service: code("serviceKind", s.kind) }), reload);
        }),
      },
      field(t("serviceKind"), kind),
      field(t("provider"), provider),
      field(t("basis"), basis),
      h("button", { type: "submit", id: "arrange-service-submit" }, t("arrangeService")),
    );
    const reason = h("input", { id: "close-reason", name: "reason" });
    close = h(
      "form",
      {
        id: "close-case",
        class: "row",
        onsubmit: submitting(() => {
          return act(out, t("whatClose"), CLOSE, { id: c.id, r: reason.value.trim() }, () => t("caseClosed"), reload);
        }),
      },
      h("h3", {}, t("closeTitle")),
      field(t("closureReason"), reason),
      h("button", { type: "submit", id: "close-case-submit" }, t("closeCase")),
    );
  }

  return h(
    "section",
    { class: "card", "aria-labelledby": "h-assistance", id: "assistance" },
    h("h2", { id: "h-assistance" }, t("assistanceTitle")),
    h("h3", {}, t("servicesTitle")),
    services.length === 0
      ? notice(t("noServices"))
      : h(
          "table",
          { class: "list", id: "services-table" },
          h("caption", { class: "sr-only" }, t("servicesTitle")),
          h("thead", {}, h("tr", {}, [t("colService"), t("colProvider"), t("colState"), t("colOutcome"), t("colActions")].map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, serviceRows),
        ),
    plan,
    h("h3", {}, t("followUpsTitle")),
    followUps.length === 0
      ? notice(t("noFollowUps"))
      : h(
          "ul",
          { id: "follow-ups", class: "plain" },
          followUps.map((f) => h("li", {}, `${fmtDateTime(f.at)} ${f.serviceId ? code("serviceKind", kindOf.get(f.serviceId) ?? null) : ""}：${f.note ?? "—"}`)),
        ),
    close,
    out,
  );
}

function interventionCard(c: CaseFile, relatives: Relative[], reload: () => Promise<void>): HTMLElement | null {
  const me = cachedMe();
  const intervenes = can(me, "record_intervention");
  const petitions = can(me, "petition_court");
  const decides = can(me, "decide_guardianship");
  const rows = c.interventions ?? [];
  const open = c.status !== "closed" && c.status !== "reported";
  if (rows.length === 0 && !((intervenes || petitions) && open)) return null;
  const out = statusLine("intervention-status");
  const who = (p: Named | null, fallback?: string | null): string => (p ? p.name ?? t("nameNotPermitted") : fallback && !fallback.startsWith("person:") ? fallback : t("outsideView"));
  const grounds = (g: string | null): string => (g ? g.split(",").filter(Boolean).map((x) => code("ground", x)).join("；") : "—");

  const list =
    rows.length === 0
      ? notice(t("noInterventions"))
      : h(
          "table",
          { class: "list", id: "interventions-table" },
          h("caption", { class: "sr-only" }, t("interventionTitle")),
          h("thead", {}, h("tr", {}, [t("colWhen"), t("colMeasure"), t("colGuardian"), t("colGrounds"), t("colState"), t("colCourtDecision"), t("colNewGuardian")].map((x) => h("th", { scope: "col" }, x)))),
          h(
            "tbody",
            {},
            rows.map((i) =>
              h(
                "tr",
                { "data-kind": i.kind ?? "", "data-status": i.status ?? "" },
                h("td", {}, fmtDate(i.occurredOn)),
                h("td", {}, code("interventionKind", i.kind)),
                h("td", {}, who(i.guardian, i.temporaryGuardian)),
                h("td", {}, grounds(i.grounds)),
                h("td", {}, code("interventionStatus", i.status)),
                h("td", {}, i.decision ? `${code("courtDecision", i.decision)} ${fmtDate(i.decidedOn)}` : "—"),
                h("td", { class: "new-guardian" }, i.decision === "revoked" ? who(i.newGuardian) : "—"),
              ),
            ),
          ),
        );

  // A measure: the police's own on the guardian, or temporary guardianship by the area.
  let measure: HTMLElement | null = null;
  if (intervenes && open) {
    const kinds = me?.agencyType === "public_security" ? [...POLICE_KINDS, "temporary_guardianship"] : ["temporary_guardianship"];
    const kind = codeSelect("itv-kind", "interventionKind", kinds);
    const guardian = personSelect("itv-guardian", relatives);
    const temp = personSelect("itv-temporary", relatives);
    const institution = h("input", { id: "itv-institution", name: "institution" });
    const on = h("input", { type: "date", id: "itv-on", value: todayBeijing(), max: todayBeijing() });
    measure = h(
      "form",
      {
        id: "record-intervention",
        class: "row",
        onsubmit: submitting(() => {
          const i: Rec = { caseId: c.id, kind: kind.value, occurredOn: on.value || null };
          if (kind.value === "temporary_guardianship") i.temporaryGuardian = temp.value || institution.value.trim() || null;
          else i.guardianId = guardian.value || null;
          return act(out, t("whatIntervention"), INTERVENTION, { i }, () => t("interventionRecorded", { kind: code("interventionKind", kind.value) }), reload);
        }),
      },
      field(t("interventionKind"), kind),
      field(t("guardianLabel"), guardian),
      field(t("temporaryGuardian"), temp),
      field(t("temporaryInstitution"), institution),
      field(t("occurredOn"), on),
      h("button", { type: "submit", id: "record-intervention-submit" }, t("recordIntervention")),
    );
  }

  let petition: HTMLElement | null = null;
  if (petitions && open && !rows.some((i) => i.kind === "court_petition" && i.status === "pending")) {
    const guardian = personSelect("pet-guardian", relatives);
    const note = h("textarea", { id: "pet-note", name: "note", rows: 2 });
    petition = h(
      "form",
      {
        id: "petition-court",
        onsubmit: submitting((e: Event) => {
          const chosen = [...(e.currentTarget as HTMLFormElement).querySelectorAll<HTMLInputElement>("input[name=ground]:checked")].map((b) => b.value);
          return act(
            out,
            t("whatPetition"),
            PETITION,
            { i: { caseId: c.id, guardianId: guardian.value, grounds: chosen, note: note.value.trim() || null } },
            () => t("petitionFiled"),
            reload,
          );
        }),
      },
      h("h3", {}, t("petitionTitle")),
      field(t("guardianLabel"), guardian),
      h(
        "fieldset",
        {},
        h("legend", {}, t("groundsLabel")),
        GROUNDS.map((g) => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "ground", value: g }), code("ground", g))),
      ),
      field(t("petitionNote"), note),
      h("button", { type: "submit", id: "petition-submit" }, t("petitionCourt")),
    );
  }

  const pending = rows.filter((i) => i.kind === "court_petition" && i.status === "pending");
  const decisions = decides
    ? pending.map((i) => {
        const decision = codeSelect("decision", "courtDecision", ["revoked", "dismissed"]);
        const candidates = relatives.filter((p) => p.id !== i.guardian?.id);
        const newGuardian = personSelect("new-guardian", candidates);
        const idNumber = h("input", { id: "new-guardian-id-number", autocomplete: "off", inputmode: "text", maxlength: 18 });
        const on = h("input", { type: "date", id: "decided-on", value: todayBeijing() });
        return h(
          "form",
          {
            class: "decide-petition",
            "data-intervention": i.id,
            onsubmit: submitting(() => {
              const input: Rec = { interventionId: i.id, decision: decision.value, decidedOn: on.value || null };
              if (decision.value === "revoked") {
                input.newGuardianId = newGuardian.value || null;
                if (!newGuardian.value && idNumber.value.trim()) input.newGuardianIdNumber = idNumber.value.trim();
              }
              return act(out, t("whatDecide"), DECIDE_GUARDIANSHIP, { i: input }, () => t("decided", { decision: code("courtDecision", decision.value) }), reload);
            }),
          },
          h("h3", {}, t("decisionTitle")),
          h("p", {}, t("pendingPetition", { guardian: who(i.guardian), grounds: grounds(i.grounds) })),
          field(t("decisionLabel"), decision),
          field(t("newGuardianLabel"), newGuardian),
          candidates.length === 0 ? h("p", { class: "hint" }, t("newGuardianNotVisible")) : null,
          field(t("newGuardianIdNumber"), idNumber),
          field(t("decidedOn"), on),
          h("button", { type: "submit", class: "decide-submit" }, t("decide")),
        );
      })
    : [];

  return h(
    "section",
    { class: "card", "aria-labelledby": "h-intervention", id: "intervention" },
    h("h2", { id: "h-intervention" }, t("interventionTitle")),
    h("p", { class: "hint" }, t("interventionHint")),
    list,
    measure,
    petition,
    decisions,
    out,
  );
}
