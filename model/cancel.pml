/* model/cancel.pml: a Promela model of Quiesce's cancel protocol as
   implemented (actors/supervisor.cpp, job.cpp, assessment.cpp, task.cpp,
   node.cpp), checked with spin by model/check. docs/model.md says what is
   modelled, what is abstracted away, and which properties are checked.

   One job: assessment 0 holds tasks 0 and 1 (ids 1 and 2 in the code),
   assessment 1 holds task 2 (id 3). One node name with SLOTS slots that may
   HOLD attempts beyond them (pipelining, docs/model.md), that can be lost
   and rejoin once (a new node actor). A client sends any of the
   requests, at any moment, within a budget. Every decision of the supervisor
   comes from the rules table generated from actors/rules.cpp (rules.pml).

   Every actor pair has its own FIFO channel and receivers pick any non-empty
   one, so messages between different pairs reorder freely; that is all CAF
   promises and all the model assumes.

   Switches (-D): REQS=n client requests (default 3), LOSS=0 no node loss,
   SLOTS=n the node's slots (default 1), HOLD=n attempts it may hold beyond
   them (default 1; 0 is the runtime without pipelining), SLOT_START (the
   design's claim that a slot start finds a free slot, asserted: it fails,
   docs/model.md), PARTITION (a lost node's work runs on until the worker
   resets it), MUTANT_* (seeded bugs, model/check --mutants). */

#ifndef REQS
#define REQS 3
#endif
#ifndef LOSS
#define LOSS 1
#endif

#define NT 3      /* tasks */
#define NA 2      /* assessments */
#define MAXATT 3  /* attempts per task the budgets allow */
#define NSLOT 9   /* NT * MAXATT: one task actor per (task, attempt) */
#define MAXEP 6   /* assessment actors (epochs 1..5) */
#define NJA 2     /* job actors (a requeued job gets a new one) */
#ifndef SLOTS
#define SLOTS 1   /* the node's slots */
#endif
#ifndef HOLD
#define HOLD 1    /* attempts the node may hold beyond its slots */
#endif
#define NONE 255

/* Statuses and codes: the values of messages/status.hpp and
   messages/result_code.hpp. */
#define JS_NOT_SUBMITTED 0
#define JS_QUEUED 1
#define JS_RUNNING 2
#define JS_FINISHED 3
#define JS_FAILED 4
#define JS_CANCELLED 5
#define JS_CANCELLING 6
#define TS_QUEUED 1
#define TS_RUNNING 2
#define TS_FINISHED 3
#define TS_FAILED 4
#define TS_CANCELLED 5
#define AS_NOT_YET_RUN 0
#define AS_RUNNING 1
#define AS_COMPLETED 2
#define RC_OK 0
#define RC_INVALID_STATE 4
#define RC_TERMINATE_FAILED 9
#define RC_ASSESSMENT_CANCELLED 13
#define RC_NO_REPLY 254
/* attempt outcomes (messages/internal.hpp) */
#define OUT_SUCCEEDED 0
#define OUT_FAILED 1
#define OUT_STOPPED 2
#define OUT_NOT_STARTED 3
#define OUT_LOST 5
/* not an outcome: a held attempt's `attempt_running`, relayed to the
   supervisor on the path of the ends (node -> task -> assessment) */
#define OUT_RUNNING 7
/* stop modes + 1 (0: none) */
#define STOP_REQUEST 1
#define STOP_GRACEFUL 2
#define STOP_KILL 3

/* Requests: the first six index the generic rules table. */
#define REQ_SUBMIT 0
#define REQ_CANCEL_JOB 1
#define REQ_TERMINATE 2
#define REQ_CANCEL_TASK 3
#define REQ_REQUEUE_TASK 4
#define REQ_REQUEUE_JOB 5
#define REQ_CANCEL_ASMT 6
#define REQ_CANCEL_TASKS 7

#define ASMT(t) ((t) == 2 -> 1 : 0)
#define SLOT(t, a) ((t) * MAXATT + (a) - 1)
#define TERMINAL_T(s) ((s) == TS_FINISHED || (s) == TS_FAILED || (s) == TS_CANCELLED)
#define TERMINAL_J(s) ((s) == JS_FINISHED || (s) == JS_FAILED || (s) == JS_CANCELLED)
#define ACTIVE_J(s) ((s) == JS_RUNNING || (s) == JS_CANCELLING)

/* -- the rules table (hidden: constant after init, not in the state) ------ */

#define RQI(r, j, a, t) ((((r) * 7 + (j)) * 3 + (a)) * 6 + (t))
hidden byte rq_code[756]; hidden byte rq_task[756]; hidden byte rq_stop[756];
hidden byte rq_job[756]; hidden byte rq_as[756]; hidden byte rq_out[756];
#define CAI(j, c, p, t) ((((j) * 2 + (c)) * 2 + (p)) * 6 + (t))
hidden byte ca_code[168]; hidden byte ca_task[168]; hidden byte ca_stop[168];
hidden byte ca_out[168];
/* outcome index: 0 succeeded, 1 failed, 2 stopped, 3 lost; not_started is
   decided as failed (actors/rules.cpp), with no stop requested */
#define OI(o) ((o) == OUT_LOST -> 3 : ((o) == OUT_NOT_STARTED -> 1 : (o)))
#define AEI(o, s, j, t, l) (((((o) * 2 + (s)) * 7 + (j)) * 6 + (t)) * 2 + (l))
hidden byte ae_task[672];
#define ADI(j, d, f, c, p, n, b) \
  ((((((((j) * 2 + (d)) * 2 + (f)) * 2 + (c)) * 2 + (p)) * 2 + (n)) * 2) + (b))
hidden byte ad_out[448]; hidden byte ad_job[448]; hidden byte ad_next[448];
#define STI(j, l, b) (((j) * 2 + (l)) * 2 + (b))
hidden byte st_job[28]; hidden byte st_begin[28];
hidden byte jm_ok[49]; hidden byte tm_ok[36];

#include "rules.pml"

/* Scatters the generated rows into the lookup arrays above. */
c_code {
#define ROWS(x) (sizeof(x) / sizeof(x[0]))
static void rules_load(void) {
  unsigned i;
  for (i = 0; i < ROWS(rules_rq); ++i) {
    const unsigned char* r = rules_rq[i];
    int x = ((r[0] * 7 + r[1]) * 3 + r[2]) * 6 + r[3];
    rq_code[x] = r[4]; rq_task[x] = r[5]; rq_stop[x] = r[6];
    rq_job[x] = r[7]; rq_as[x] = r[8]; rq_out[x] = r[9];
  }
  for (i = 0; i < ROWS(rules_ca); ++i) {
    const unsigned char* r = rules_ca[i];
    int x = ((r[0] * 2 + r[1]) * 2 + r[2]) * 6 + r[3];
    ca_code[x] = r[4]; ca_task[x] = r[5]; ca_stop[x] = r[6]; ca_out[x] = r[7];
  }
  for (i = 0; i < ROWS(rules_ae); ++i) {
    const unsigned char* r = rules_ae[i];
    int o = r[0] == 5 ? 3 : r[0];
    ae_task[(((o * 2 + r[1]) * 7 + r[2]) * 6 + r[3]) * 2 + r[4]] = r[5];
  }
  for (i = 0; i < ROWS(rules_ad); ++i) {
    const unsigned char* r = rules_ad[i];
    int x = (((((r[0] * 2 + r[1]) * 2 + r[2]) * 2 + r[3]) * 2 + r[4]) * 2
             + r[5]) * 2 + r[6];
    ad_out[x] = r[7]; ad_job[x] = r[8]; ad_next[x] = r[9];
  }
  for (i = 0; i < ROWS(rules_st); ++i) {
    const unsigned char* r = rules_st[i];
    int x = (r[0] * 2 + r[1]) * 2 + r[2];
    st_job[x] = r[3]; st_begin[x] = r[4];
  }
  for (i = 0; i < ROWS(rules_jm); ++i)
    jm_ok[rules_jm[i][0] * 7 + rules_jm[i][1]] = 1;
  for (i = 0; i < ROWS(rules_tm); ++i)
    tm_ok[rules_tm[i][0] * 6 + rules_tm[i][1]] = 1;
}
}

/* -- channels: one FIFO per sender-receiver pair --------------------------- */

chan c2s = [REQS] of { byte, byte, byte, byte };   /* req, id, arg1, arg2 */
chan s2c = [REQS] of { byte, byte };               /* id, code */
mtype = { BEGIN, RUN, STOP, END_JOB, START, SIGNAL, ENDED, DOWN, RUNNING };
chan s2j[NJA] = [8] of { mtype, byte, byte, bool }; /* supervisor -> job (RUN: held) */
chan a2t[NSLOT] = [2] of { byte };                 /* assessment -> task: stop mode */
chan t2n[NSLOT] = [3] of { mtype, byte };          /* task -> node (START: held) */
chan n2t[NSLOT] = [3] of { mtype, byte, bool };    /* node -> task: outcome, stop requested */
chan t2a[NSLOT] = [2] of { byte, bool, bool };     /* task -> assessment: running, end */
chan a2s[MAXEP] = [NT + 1] of { byte, byte, byte, bool, bool }; /* assessment -> supervisor */

/* -- the supervisor's books ------------------------------------------------ */

byte js = JS_NOT_SUBMITTED;
byte as[NA]; byte aout[NA];
byte cur = NONE;                 /* current assessment */
byte ts[NT]; byte att[NT]; byte losses[NT];
byte live[NT];                   /* attempt number of the live attempt, 0 none */
byte placed[NT];                 /* node incarnation of the live attempt */
bool held[NT];                   /* the live attempt is held: task still queued */
byte ready;                      /* bit set of task ids to dispatch */
bool start_queued;
byte actor = NONE;               /* the job's actor (index into s2j) */
byte njobactors;
byte terminators;                /* bit set of pending terminate_job request ids */
bool unconfirmed; bool deadline_armed;
bool n_reach; byte n_running; byte n_inc; /* the node as the supervisor sees it */

/* -- the actors' states ---------------------------------------------------- */

bool ja_alive[NJA]; byte ja_asm[NJA];      /* job actors and their assessment */
bool asm_alive[MAXEP]; byte nepochs;
byte asm_task[MAXEP * NT];                 /* an assessment's map: task -> attempt */
byte ta[NSLOT];                            /* task actor: 0 none, 1 alive, 2 gone */
byte ta_ep[NSLOT]; byte ta_inc[NSLOT];
bool ta_grace[NSLOT]; bool ta_killed[NSLOT];
/* the node: incarnations 1, 2; the work of each attempt */
byte node_inc = 1; bool node_up = true; bool hello = true; byte down_for;
byte wk[NSLOT];                            /* 0 none, 1 running, 2 over, 3 held */
byte wk_inc[NSLOT]; bool wk_sr[NSLOT];
byte nbusy;                                /* slots in use on the node */
chan hq = [HOLD + 1] of { byte };          /* attempts waiting for a slot (FIFO) */
bool wk_h[NSLOT];                          /* a waiting attempt was held */
byte losses_left = LOSS;

/* -- ghosts for the properties --------------------------------------------- */

byte sent; byte replied;                   /* requests sent, bit set replied */
bool cancel_job_ok;                        /* accepted, not since requeued */
byte nostart[NT];                          /* cancelled queued: attempts bound */
byte rqf[NT];                              /* attempt when last requeued */
bool wd_due[NSLOT];                        /* held attempt cancelled in the books */
bool wd_sent[NSLOT];                       /* ... and withdrawn by the supervisor */
bool wd_got[NSLOT];                        /* the node took it out of its queue */

inline move_task(t, to) {
  printf("TRACE task %d: %d -> %d\n", t + 1, ts[t], to);
  assert(tm_ok[ts[t] * 6 + to]);                     /* inside the table */
  assert(!TERMINAL_T(ts[t]) || to == TS_QUEUED);     /* one terminal status */
  assert(to != TS_RUNNING || !cancel_job_ok);        /* finish current assessment */
  if :: to == TS_QUEUED && TERMINAL_T(ts[t]) -> rqf[t] = att[t] :: else fi;
  if :: ts[t] == TS_QUEUED && to == TS_CANCELLED && held[t] -> wd_due[SLOT(t, live[t])] = true :: else fi;
  ts[t] = to
}
inline move_job(to) {
  printf("TRACE job: %d -> %d\n", js, to);
  assert(jm_ok[js * 7 + to]);
  assert(!TERMINAL_J(js) || to == JS_QUEUED);
  js = to
}
inline reply(id, code) {
  assert((replied & (1 << id)) == 0);               /* exactly one reply */
  replied = replied | (1 << id);
  printf("TRACE reply to request %d: code %d\n", id, code);
  s2c!id, code
}

/* terminate_job says ok only when no attempt of the job is alive (running
   or held on the node) */
#define DEAD(x) (wk[x] != 1 && wk[x] != 3)
inline terminate_ok(id) {
  assert(DEAD(0) && DEAD(1) && DEAD(2) && DEAD(3) && DEAD(4) && DEAD(5)
         && DEAD(6) && DEAD(7) && DEAD(8));
  reply(id, RC_OK)
}

/* -- the supervisor --------------------------------------------------------- */

#define DISPATCHABLE(t) (ts[t] == TS_QUEUED && js == JS_RUNNING && cur == ASMT(t) && live[t] == 0)
#ifdef MUTANT_DISPATCH_WHILE_LIVE
/* seeded bug: a requeued task is dispatched while its last attempt lives */
#undef DISPATCHABLE
#define DISPATCHABLE(t) (ts[t] == TS_QUEUED && js == JS_RUNNING && cur == ASMT(t))
#endif

inline spawn_job_actor() {
  if
  :: actor == NONE ->
     assert(njobactors < NJA);
     actor = njobactors; njobactors++; ja_alive[actor] = true
  :: else
  fi
}

/* Assessment `i` begins (commit of not_yet_run -> running). */
inline begin(i) {
  assert(!cancel_job_ok);      /* no assessment starts after cancel_job */
  printf("TRACE assessment %d begins\n", i);
  as[i] = AS_RUNNING; aout[i] = RC_OK; cur = i;
  s2j[actor]!BEGIN, i, 0, false;
  ready = 0;
  bi = 0;
  do
  :: bi < NT -> if :: ASMT(bi) == cur && ts[bi] == TS_QUEUED -> ready = ready | (1 << bi) :: else fi; bi++
  :: else -> break
  od
}

inline job_to(to) {
  if
  :: to != js ->
     move_job(to);
     if :: ACTIVE_J(js) -> spawn_job_actor() :: else fi;
     if :: js == JS_QUEUED -> start_queued = true; cur = NONE :: else fi;
     if :: TERMINAL_J(js) -> cur = NONE :: else fi
  :: else
  fi
}

inline send_stop(mask, mode) {
  if
  :: mask != 0 && actor != NONE ->
     printf("TRACE stop tasks (bit set %d), mode %d\n", mask, mode - 1);
     s2j[actor]!STOP, mask, mode, false
  :: else
  fi
}

/* A task is held only while it is queued in the books. */
#define HELD_QUEUED(t) (!held[t] || ts[t] == TS_QUEUED)

/* Runs the job's rules forward (advance), then answers terminators. */
inline settle() {
  assert(HELD_QUEUED(0) && HELD_QUEUED(1) && HELD_QUEUED(2));
  do
  :: ACTIVE_J(js) && cur != NONE ->
     done = 1; fin = 1; canc = 0; k = 0;
     do
     :: k < NT ->
        if
        :: ASMT(k) == cur ->
           if :: !TERMINAL_T(ts[k]) || live[k] != 0 -> done = 0 :: else fi;
           if :: ts[k] != TS_FINISHED -> fin = 0 :: else fi;
           if :: ts[k] == TS_CANCELLED -> canc = 1 :: else fi
        :: else
        fi; k++
     :: else -> break
     od;
     nxt = 0; bad = 0; k = 0;
     do
     :: k < NA ->
        if :: k > cur && as[k] == AS_NOT_YET_RUN -> nxt = 1 :: else fi;
        if :: k != cur && aout[k] != RC_OK -> bad = 1 :: else fi; k++
     :: else -> break
     od;
     idx = ADI(js, done, fin, canc, aout[cur] == RC_ASSESSMENT_CANCELLED, nxt, bad);
     mut = 0;
#ifdef MUTANT_BEGIN_WHEN_CANCELLING
     /* seeded bug: a cancelling job still begins its next assessment */
     if :: js == JS_CANCELLING && ad_out[idx] != NONE && nxt -> mut = 1 :: else fi;
#endif
     if
     :: ad_out[idx] == NONE -> break
     :: else ->
        as[cur] = AS_COMPLETED; aout[cur] = ad_out[idx];
        k = cur; cur = NONE;
        if
        :: ad_next[idx] || mut -> k++; do :: as[k] != AS_NOT_YET_RUN -> k++ :: else -> break od; begin(k)
        :: else
        fi;
        if :: !mut -> job_to(ad_job[idx]) :: else fi
     fi
  :: else -> break
  od;
  if
  :: TERMINAL_J(js) && live[0] == 0 && live[1] == 0 && live[2] == 0 ->
     k = 0;
     do
     :: k < REQS ->
        if
        :: terminators & (1 << k) ->
           if
           :: unconfirmed -> reply(k, RC_TERMINATE_FAILED)
           :: else -> terminate_ok(k)
           fi
        :: else
        fi; k++
     :: else -> break
     od;
     terminators = 0;
     if :: actor != NONE -> s2j[actor]!END_JOB, 0, 0, false; actor = NONE :: else fi
  :: else
  fi
}

/* Starts a queued job, then places dispatchable tasks on the node. */
inline schedule() {
  if
  :: start_queued ->
     start_queued = false;
     if
     :: js == JS_QUEUED ->
        nxt = (as[0] == AS_NOT_YET_RUN || as[1] == AS_NOT_YET_RUN);
        bad = (aout[0] != RC_OK || aout[1] != RC_OK);
        idx = STI(js, nxt, bad);
        /* start() passes through running when nothing is left to run */
        if :: TERMINAL_J(st_job[idx]) -> move_job(JS_RUNNING) :: else fi;
        job_to(st_job[idx]);
        if
        :: st_begin[idx] -> k = 0; do :: as[k] != AS_NOT_YET_RUN -> k++ :: else -> break od; begin(k)
        :: else
        fi;
        settle()
     :: else
     fi
  :: else
  fi;
  k = 0;
  do
  :: k < NT && n_reach && n_running < SLOTS + HOLD ->
     if
     :: ready & (1 << k) ->
        ready = ready & ~(1 << k);
        if
        :: DISPATCHABLE(k) ->
           assert(nostart[k] == NONE);   /* a cancelled queued task never starts */
           att[k]++; assert(att[k] <= MAXATT);
           assert(att[k] > rqf[k]);      /* a requeue runs a new attempt */
           if
           :: n_running < SLOTS ->       /* slot dispatch: running at once */
              printf("TRACE dispatch task %d attempt %d\n", k + 1, att[k]);
              move_task(k, TS_RUNNING)
           :: else ->                    /* held: stays queued, number reserved */
              printf("TRACE dispatch task %d attempt %d held\n", k + 1, att[k]);
              held[k] = true
           fi;
           live[k] = att[k]; placed[k] = n_inc; n_running++;
           s2j[actor]!RUN, k, att[k], held[k]
        :: else
        fi
     :: else
     fi; k++
  :: else -> break
  od
}

/* A task became queued: dispatch it if it may go now. */
inline queued(t) {
  if :: DISPATCHABLE(t) -> ready = ready | (1 << t) :: else fi
}

/* A request took held tasks queued -> cancelled: withdraw their attempts
   (stop_tasks{kill} through job, assessment and task actor to the node). */
inline withdraw() {
  mask = 0; k = 0;
  do
  :: k < NT ->
     if
     :: held[k] && ts[k] == TS_CANCELLED ->
#ifndef MUTANT_KEEP_HELD
        held[k] = false;
#endif
#ifndef MUTANT_NO_WITHDRAW
        wd_sent[SLOT(k, live[k])] = true;
        mask = mask | (1 << k);
#endif
        skip
     :: else
     fi; k++
  :: else -> break
  od;
  send_stop(mask, STOP_KILL)
}

/* Whether attempt `a` of task `t` may be promoted queued -> running. */
#define PROMOTABLE(t, a) (ts[t] == TS_QUEUED && held[t] && live[t] == (a))
#define RUNNING_OK(t, a) PROMOTABLE(t, a)
#ifdef MUTANT_PROMOTE_UNCHECKED
/* seeded bug: a running report promotes the live attempt's task without
   checking that it is still queued and held */
#undef RUNNING_OK
#define RUNNING_OK(t, a) (live[t] == (a))
#endif

inline promote(t, a) {
  printf("TRACE supervisor: task %d attempt %d promoted\n", t + 1, a);
  assert(a > rqf[t]);          /* a requeue runs a new attempt */
  held[t] = false;
  move_task(t, TS_RUNNING)
}

proctype supervisor() {
  byte r, id, a1, a2, k, code, newjs, mask, mode, t, o, n;
  short idx;
  byte done, fin, canc, nxt, bad, mut, ak, bi;
  bool sr, conf;
  byte old[NT]; byte oldas[NA];
end:
  do
  /* -- client requests -- */
  :: c2s?r, id, a1, a2 ->
     atomic {
       if
       :: r <= REQ_REQUEUE_JOB && r != REQ_CANCEL_TASK && r != REQ_REQUEUE_TASK ->
          /* job-wide requests: every task, the assessments, the job */
          k = 0; do :: k < NT -> old[k] = ts[k]; k++ :: else -> break od;
          oldas[0] = as[0]; oldas[1] = as[1];
          idx = RQI(r, js, as[0], ts[0]); code = rq_code[idx];
          if
          :: code == RC_OK ->
             newjs = rq_job[idx]; mask = 0; mode = 0; k = 0;
             do
             :: k < NT ->
                idx = RQI(r, js, oldas[ASMT(k)], old[k]);
                if :: rq_stop[idx] -> mask = mask | (1 << k); mode = rq_stop[idx] :: else fi;
                if
                :: rq_task[idx] != ts[k] ->
                   if :: old[k] == TS_QUEUED && rq_task[idx] == TS_CANCELLED -> nostart[k] = att[k] :: else fi;
                   if :: rq_task[idx] == TS_QUEUED -> nostart[k] = NONE :: else fi;
                   move_task(k, rq_task[idx])
                :: else
                fi; k++
             :: else -> break
             od;
             /* assessments: terminate completes the current one (its
                row says so), requeue_job resets a completed one when a task
                of it is to rerun (that task's row says so) */
             k = 0;
             do
             :: k < NT ->
                idx = RQI(r, js, oldas[ASMT(k)], old[k]);
                if
                :: rq_as[idx] != oldas[ASMT(k)] || rq_out[idx] != NONE ->
                   as[ASMT(k)] = rq_as[idx];
                   aout[ASMT(k)] = (rq_out[idx] != NONE -> rq_out[idx] : RC_OK)
                :: else
                fi; k++
             :: else -> break
             od;
             if :: as[0] != AS_RUNNING && as[1] != AS_RUNNING -> cur = NONE :: else fi;
             if :: r == REQ_CANCEL_JOB -> cancel_job_ok = true :: else fi;
             if :: r == REQ_REQUEUE_JOB -> cancel_job_ok = false :: else fi;
             job_to(newjs);
             send_stop(mask, mode);
             withdraw()
          :: else
          fi;
          if
          :: r == REQ_TERMINATE && code == RC_OK ->
             unconfirmed = false; terminators = terminators | (1 << id)
#ifdef MUTANT_TERMINATE_EARLY
             /* seeded bug: terminate_job answers before its work is dead */
             ; terminators = 0; terminate_ok(id)
#endif
          :: else -> reply(id, code)
          fi;
          settle();
          schedule();
          if :: terminators -> deadline_armed = true :: else fi
       :: r == REQ_CANCEL_TASK || r == REQ_REQUEUE_TASK || r == REQ_CANCEL_TASKS ->
          /* one task, or several in order (stopping at the first refusal) */
          mask = 0; mode = 0; n = 0; code = RC_OK; t = a1;
          if :: r == REQ_CANCEL_TASKS -> r = REQ_CANCEL_TASK :: else fi;
          do
          :: code == RC_OK ->
             idx = RQI(r, js, as[ASMT(t)], ts[t]);
             code = rq_code[idx];
             if :: code == RC_OK && (n & (1 << t)) -> code = RC_INVALID_STATE :: else fi;
#ifdef MUTANT_CANCEL_AFTER_END
             /* seeded bug: a cancel accepted after the end was processed */
             if
             :: r == REQ_CANCEL_TASK && code == RC_INVALID_STATE && ts[t] == TS_FINISHED ->
                code = RC_OK; idx = RQI(r, js, as[ASMT(t)], TS_QUEUED)
             :: else
             fi;
#endif
             if
             :: code == RC_OK ->
                n = n | (1 << t);
                if :: rq_stop[idx] -> mask = mask | (1 << t); mode = rq_stop[idx] :: else fi;
                if :: ts[t] == TS_QUEUED && rq_task[idx] == TS_CANCELLED -> nostart[t] = att[t] :: else fi;
                if
                :: ts[t] == TS_RUNNING && rq_task[idx] == TS_QUEUED ->
                   move_task(t, TS_CANCELLED)   /* cancelled first, then queued */
                :: else
                fi;
                if :: rq_task[idx] == TS_QUEUED -> nostart[t] = NONE :: else fi;
                move_task(t, rq_task[idx]);
                if :: ts[t] == TS_QUEUED -> queued(t) :: else fi
             :: else
             fi;
             if :: a2 == NONE || t == a2 -> break :: else -> t = a2 fi
          :: else -> break
          od;
          send_stop(mask, mode);
          withdraw();
          reply(id, code);
          settle();
          schedule()
       :: r == REQ_CANCEL_ASMT ->
          idx = CAI(js, ACTIVE_J(js) && cur == a1, cur != NONE && aout[cur] == RC_ASSESSMENT_CANCELLED, ts[0]);
          code = ca_code[idx];
          if
          :: code == RC_OK ->
             aout[a1] = ca_out[idx]; mask = 0; mode = 0; k = 0;
             do
             :: k < NT ->
                if
                :: ASMT(k) == a1 ->
                   idx = CAI(js, 1, 0, ts[k]);
                   if :: ca_stop[idx] -> mask = mask | (1 << k); mode = ca_stop[idx] :: else fi;
                   if :: ts[k] == TS_QUEUED && ca_task[idx] == TS_CANCELLED -> nostart[k] = att[k] :: else fi;
                   if :: ca_task[idx] != ts[k] -> move_task(k, ca_task[idx]) :: else fi
                :: else
                fi; k++
             :: else -> break
             od;
             send_stop(mask, mode);
             withdraw()
          :: else
          fi;
          reply(id, code);
          settle();
          schedule()
       fi
     }
  /* -- an attempt's end, relayed by an assessment actor -- */
  :: a2s[1]?t, ak, o, sr, conf -> goto ended
  :: a2s[2]?t, ak, o, sr, conf -> goto ended
  :: a2s[3]?t, ak, o, sr, conf -> goto ended
  :: a2s[4]?t, ak, o, sr, conf -> goto ended
  :: a2s[5]?t, ak, o, sr, conf -> goto ended
  /* -- the node: down, or a new actor says hello -- */
  :: atomic {
       down_for != 0 ->
       if :: down_for == n_inc -> n_reach = false :: else fi;
       down_for = 0
     }
  :: atomic {
       hello ->
       hello = false;
       if
       :: !n_reach -> printf("TRACE node %d registered\n", node_inc); n_reach = true; n_inc = node_inc; n_running = 0; schedule()
       :: else      /* refused: a node of that name is registered */
       fi
     }
  /* -- the terminate bound expires -- */
  :: atomic {
       deadline_armed ->
       deadline_armed = false;
       printf("TRACE terminate bound expires\n");
       k = 0;
       do
       :: k < REQS ->
          if :: terminators & (1 << k) -> reply(k, RC_TERMINATE_FAILED) :: else fi; k++
       :: else -> break
       od;
       terminators = 0
     }
  od;
ended:
  atomic {
    if
    :: o == OUT_RUNNING ->   /* a held attempt started on the node */
       if
       :: RUNNING_OK(t, ak) -> promote(t, ak)
       :: else -> printf("TRACE supervisor: running report of task %d attempt %d ignored\n", t + 1, ak)
       fi
    :: o != OUT_RUNNING && live[t] == ak ->
       printf("TRACE supervisor: task %d attempt %d ended, outcome %d\n", t + 1, ak, o);
       if
       :: held[t] ->
          if
          :: PROMOTABLE(t, ak) && o != OUT_LOST -> promote(t, ak)  /* first, then the end */
          :: else -> held[t] = false    /* lost while held */
          fi
       :: else
       fi;
       live[t] = 0;
       if :: n_running > 0 -> n_running-- :: else fi;
       if :: o == OUT_LOST && placed[t] == n_inc -> n_reach = false :: else fi;
       if :: !conf -> unconfirmed = true :: else fi;
       if
       :: att[t] == ak ->
          idx = AEI(OI(o), sr, js, ts[t], losses[t] < 1);
          if
          :: ae_task[idx] != ts[t] ->
             if :: o == OUT_LOST && ae_task[idx] == TS_QUEUED -> losses[t]++ :: else fi;
             move_task(t, ae_task[idx])
          :: else
          fi
       :: else
       fi;
       queued(t);
       settle();
       schedule()
    :: else   /* a duplicate report */
    fi;
    goto end
  }
}

/* -- the job actor with its assessment actors (job.cpp, assessment.cpp) --- */

/* Kills assessment actor `e`; its linked task actors die with it. */
inline kill_assessment(e) {
  asm_alive[e] = false;
  s = 0;
  do
  :: s < NSLOT -> if :: ta[s] == 1 && ta_ep[s] == e -> ta[s] = 2 :: else fi; s++
  :: else -> break
  od
}

#define SLOTS_DO(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8)

/* Job actor j handles a message from the supervisor. */
inline job_receive(j) {
  s2j[j]?m, m1, m2, h;
  if
  :: m == BEGIN ->
     if :: ja_asm[j] != 0 -> kill_assessment(ja_asm[j]) :: else fi;
     nepochs++; assert(nepochs < MAXEP);
     ja_asm[j] = nepochs; asm_alive[nepochs] = true
  :: m == RUN ->
     assert(ja_asm[j] != 0);
     e = ja_asm[j]; s = SLOT(m1, m2);
     asm_task[e * NT + m1] = m2;
     /* the task actor: monitors the node, asks it to start */
     ta[s] = 1; ta_ep[s] = e; ta_inc[s] = placed[m1];
     t2n[s]!START, h;
     if :: !(node_up && node_inc == ta_inc[s]) -> n2t[s]!DOWN, OUT_LOST, false :: else fi
  :: m == STOP ->
     e = ja_asm[j]; t = 0;
     do
     :: t < NT ->
        if
        :: (m1 & (1 << t)) && e != 0 && asm_task[e * NT + t] != 0 ->
           a2t[SLOT(t, asm_task[e * NT + t])]!m2
        :: else
        fi; t++
     :: else -> break
     od
  :: m == END_JOB ->
     if :: ja_asm[j] != 0 -> kill_assessment(ja_asm[j]) :: else fi;
     ja_alive[j] = false
  fi
}

/* The assessment of task actor `s` relays its end to the supervisor. */
#define RELAY(x) \
  :: atomic { asm_alive[ta_ep[x]] && len(t2a[x]) > 0 -> \
       t2a[x]?o, sr, conf; \
       t = x / MAXATT; k = x % MAXATT + 1; e = ta_ep[x]; \
       if :: o != OUT_RUNNING && asm_task[e * NT + t] == k -> asm_task[e * NT + t] = 0 :: else fi; \
       a2s[e]!t, k, o, sr, conf }

proctype job_actors() {
  byte m1, m2, e, s, t, k; bool h;
  mtype m;
  byte o; bool sr, conf;
end:
  do
  :: atomic { ja_alive[0] && len(s2j[0]) > 0 -> job_receive(0) }
  :: atomic { ja_alive[1] && len(s2j[1]) > 0 -> job_receive(1) }
  SLOTS_DO(RELAY)
  od
}

/* -- task actors (task.cpp), one per attempt ------------------------------ */

#define TASK(x) \
  :: atomic { ta[x] == 1 && len(a2t[x]) > 0 -> a2t[x]?mode; \
       if \
       :: mode == STOP_REQUEST -> t2n[x]!SIGNAL, STOP_REQUEST \
       :: mode == STOP_GRACEFUL -> t2n[x]!SIGNAL, STOP_REQUEST; ta_grace[x] = true \
       :: mode == STOP_KILL -> \
          if :: !ta_killed[x] -> ta_killed[x] = true; t2n[x]!SIGNAL, STOP_KILL :: else fi \
       fi } \
  :: atomic { ta[x] == 1 && ta_grace[x] -> ta_grace[x] = false; \
       if :: !ta_killed[x] -> ta_killed[x] = true; t2n[x]!SIGNAL, STOP_KILL :: else fi } \
  :: atomic { ta[x] == 1 && len(n2t[x]) > 0 -> n2t[x]?m, o, sr; \
       if \
       :: m == RUNNING -> t2a[x]!OUT_RUNNING, false, true \
       :: m == ENDED -> ta[x] = 2; t2a[x]!o, sr, true \
       :: m == DOWN -> ta[x] = 2; t2a[x]!OUT_LOST, false, false \
       fi }

proctype task_actors() {
  byte mode, o; bool sr; mtype m;
end:
  do
  SLOTS_DO(TASK)
  od
}

/* -- the node and the work (node.cpp, the executors) ---------------------- */

/* The design's claim: a slot dispatch finds a free slot and nobody waiting.
   It fails (docs/model.md): a held start overtakes an earlier slot start
   (two task actors, no order between them). Off by default: the node makes
   any start that finds its slots busy wait in its queue. */
#ifdef SLOT_START
#define SLOT_START_CHECK assert(mode != 0 || nbusy < SLOTS && len(hq) == 0)
#else
#define SLOT_START_CHECK skip
#endif

/* Fencing: no other attempt of work x's task runs or is held on the node. */
inline fenced(x) {
  b = (x / MAXATT) * MAXATT;
  assert((b == x || DEAD(b)) && (b + 1 == x || DEAD(b + 1))
         && (b + 2 == x || DEAD(b + 2)))
}

/* Work x starts. A held attempt reports attempt_running (or, an inline
   function, nothing: its end is the first thing the head hears). */
inline work_starts(x, h) {
  fenced(x);
  assert(nostart[x / MAXATT] == NONE || x % MAXATT + 1 <= nostart[x / MAXATT]);
  assert(!wd_got[x]);                /* withdrawn: never starts after */
  assert(!wd_due[x] || wd_sent[x]);  /* cancelled while held: withdrawn */
  printf("TRACE work of task %d attempt %d starts\n", x / MAXATT + 1, x % MAXATT + 1);
  wk[x] = 1; wk_inc[x] = node_inc; nbusy++;
  if
  :: h -> if :: n2t[x]!RUNNING, 0, false :: skip fi
  :: else
  fi
}

/* A slot frees: the oldest held attempt starts in it. */
inline slot_frees() {
  nbusy--;
  if
  :: nempty(hq) -> hq?s; work_starts(s, wk_h[s])
  :: empty(hq)
  fi
}

#define NODE(x) \
  :: atomic { t2n[x]?m, mode -> \
       if \
       :: !(node_up && node_inc == ta_inc[x]) -> skip \
       :: else -> \
          if \
          :: m == START && wk[x] == 0 -> \
             SLOT_START_CHECK; \
             if \
             :: nbusy < SLOTS -> assert(len(hq) == 0); work_starts(x, mode) \
             :: else -> \
                fenced(x); assert(len(hq) < HOLD);    /* waits: at most HOLD */ \
                printf("TRACE work of task %d attempt %d waits\n", x / MAXATT + 1, x % MAXATT + 1); \
                hq!x; wk[x] = 3; wk_inc[x] = node_inc; wk_h[x] = mode \
             fi \
          :: m == SIGNAL && wk[x] == 1 -> \
             wk_sr[x] = true; \
             if \
             :: mode == STOP_KILL -> wk[x] = 2; \
                printf("TRACE work of task %d attempt %d killed\n", x / MAXATT + 1, x % MAXATT + 1); n2t[x]!ENDED, OUT_FAILED, true; \
                slot_frees() \
             :: else \
             fi \
          :: m == SIGNAL && wk[x] == 3 -> \
             wd_got[x] = true; \
             WITHDRAWN(x) \
          :: else \
          fi \
       fi } \
  :: atomic { wk[x] == 1 -> \
       if \
       :: o = OUT_SUCCEEDED \
       :: o = OUT_FAILED \
       :: wk_sr[x] -> o = OUT_STOPPED \
       fi; \
       wk[x] = 2; \
       printf("TRACE work of task %d attempt %d ends: outcome %d\n", x / MAXATT + 1, x % MAXATT + 1, o); \
       if :: node_up && wk_inc[x] == node_inc -> n2t[x]!ENDED, o, wk_sr[x]; slot_frees() :: else fi }

/* The node takes a withdrawn attempt out of its queue: ended, not started
   (a kill) or stopped (a stop request, to a slot start that waits),
   confirmed dead. */
#define WITHDRAWN(x) \
  hq??eval(x); wk[x] = 2; \
  printf("TRACE work of task %d attempt %d withdrawn\n", x / MAXATT + 1, x % MAXATT + 1); \
  if \
  :: mode == STOP_KILL -> n2t[x]!ENDED, OUT_NOT_STARTED, false \
  :: else -> n2t[x]!ENDED, OUT_STOPPED, true \
  fi
#ifdef MUTANT_KEEP_WITHDRAWN
/* seeded bug: the node keeps a withdrawn attempt in its hold queue */
#undef WITHDRAWN
#define WITHDRAWN(x) skip
#endif

#ifdef PARTITION
/* the cut-off worker resets at last: its work is killed */
#define RESET(x) :: atomic { wk[x] == 1 && !(node_up && wk_inc[x] == node_inc) -> wk[x] = 2 }
#endif

proctype node() {
  byte s, o, b; mtype m; byte mode;
end:
  do
  SLOTS_DO(NODE)
  /* the node is lost: monitors see it go down */
  :: atomic {
       node_up && losses_left > 0 ->
       losses_left--; node_up = false; down_for = node_inc;
       printf("TRACE node %d lost\n", node_inc);
       do :: nempty(hq) -> hq?s :: empty(hq) -> break od;   /* held: dropped */
       nbusy = 0;
       s = 0;
       do
       :: s < NSLOT ->
          if :: ta[s] == 1 && ta_inc[s] == node_inc -> n2t[s]!DOWN, OUT_LOST, false :: else fi;
          if :: wk[s] == 3 && wk_inc[s] == node_inc -> wk[s] = 2 :: else fi;
#ifndef PARTITION
          if :: wk[s] == 1 && wk_inc[s] == node_inc -> wk[s] = 2 :: else fi;   /* dies with it */
#endif
          s++
       :: else -> break
       od
     }
#ifdef PARTITION
  SLOTS_DO(RESET)
#endif
  /* a new node actor of the same name joins */
  :: atomic { !node_up -> node_inc++; node_up = true; hello = true;
       printf("TRACE node %d joins\n", node_inc) }
  od
}

/* -- the client ------------------------------------------------------------ */

proctype client() {
  byte id, code, got, r, a1, a2; bool submitted, requeued;
end:
  do
  :: atomic {
       id < REQS ->
       a1 = 0; a2 = NONE;
       if
       :: !submitted -> r = REQ_SUBMIT; submitted = true
       :: r = REQ_CANCEL_JOB
       :: r = REQ_TERMINATE
       :: r = REQ_CANCEL_ASMT; if :: a1 = 0 :: a1 = 1 fi
       :: r = REQ_CANCEL_TASK; if :: a1 = 0 :: a1 = 1 :: a1 = 2 fi
       :: r = REQ_CANCEL_TASKS; if :: a1 = 0; a2 = 1 :: a1 = 1; a2 = 2 fi
       :: !requeued -> requeued = true; r = REQ_REQUEUE_TASK; if :: a1 = 1 :: a1 = 2 fi
       :: !requeued -> requeued = true; r = REQ_REQUEUE_JOB
       fi;
       printf("TRACE request %d: kind %d, task/index %d then %d\n", id, r, a1, a2);
       c2s!r, id, a1, a2; id++; sent = id
     }
  :: s2c?got, code -> got = 0; code = 0
  od
}

/* -- at quiescence: every request answered, the job settled, no leak ------ */

active proctype quiescence() {
  byte s;
  c_code { rules_load(); };
  atomic {
    nostart[0] = NONE; nostart[1] = NONE; nostart[2] = NONE;
    run supervisor(); run job_actors(); run task_actors(); run node(); run client()
  };
  timeout ->
  /* every request got its reply */
  assert(replied == (1 << sent) - 1);
  /* the job is terminal or never ran (or waits for a node that left) */
  assert(js == JS_NOT_SUBMITTED || TERMINAL_J(js) || !n_reach);
  /* a job that ended left every task with a final status */
  assert(!TERMINAL_J(js) || TERMINAL_T(ts[0]) && TERMINAL_T(ts[1]) && TERMINAL_T(ts[2]));
  /* every attempt's end reached the supervisor; no work is left running */
  assert(live[0] == 0 && live[1] == 0 && live[2] == 0);
  assert(!held[0] && !held[1] && !held[2] && len(hq) == 0);
  s = 0;
  do
  :: s < NSLOT -> assert(DEAD(s) && ta[s] != 1); s++
  :: else -> break
  od
}
