#!/usr/bin/env python3
"""Replays the ranking of `anima-bench memory retrieval --dump FILE` offline: each signal
of MemoryRanker added in turn on the dumped BM25 and dense lists (BENCHMARKS.md, "Memory
retrieval quality"). Usage: scripts/retrieval-replay.py DUMP.jsonl"""
import json, re, sys, collections
rows=[json.loads(l) for l in open(sys.argv[1])]
qs=[r for r in rows if 'question' in r]; turns={r['turn']:r for r in rows if 'turn' in r}
byconv=collections.defaultdict(list)
for t in turns.values(): byconv[t['conversation']].append(t)
MONTHS=["january","february","march","april","may","june","july","august","september","october","november","december"]
STOP=set("i my me the a an what which where when who how do did does is are was in on of to and for at by it".split())
def words(s): return [w for w in re.findall(r"[a-z0-9]+", s.lower())]
def entities(s):
    toks=re.findall(r"[A-Za-z][A-Za-z'\-]*", s)
    out=set()
    for i,t in enumerate(toks):
        if t[0].isupper() and t.lower() not in STOP and t.lower() not in MONTHS and len(t)>1: out.add(t.rstrip("'s").lower())
    return out
import datetime
def month_of(q):
    m=re.search(r"\b("+"|".join(MONTHS)+r")\s+(\d{4})\b", q.lower())
    if m: return (MONTHS.index(m.group(1))+1,int(m.group(2)))
def recall(lists, k):
    tot=collections.defaultdict(float); n=collections.Counter()
    for q,l in zip(qs,lists):
        ev=set(q['evidence']); h=len([x for x in l[:k] if x in ev])/len(ev)
        for g in ('all',q['kind']): tot[g]+=h; n[g]+=1
    return {g:round(tot[g]/n[g],3) for g in tot}
def rrf(q, wt=1, wd=1, k=60):
    s=collections.defaultdict(float)
    for i,x in enumerate(q['bm25']): s[x]+=wt/(k+i+1)
    for i,(x,_) in enumerate(q['dense']): s[x]+=wd/(k+i+1)
    return sorted(s,key=lambda x:(-s[x],-x))
RECENT=set("now current currently latest still nowadays these".split())
def scored(q, P):
    t=q['bm25']; d=dict((x,sim) for x,sim in q['dense'])
    cands=set(t)|set(d)
    qe=entities(q['question']); mo=month_of(q['question']); qw=set(words(q['question']))
    recent = bool(qw & RECENT)
    if not cands: return []
    dates=[turns[x]['date'] for x in cands]; lo,hi=min(dates),max(dates)
    top_sim=max(d.values()) if d else 0
    sc={}
    for x in cands:
        tr=t.index(x)+1 if x in t else None
        s=d.get(x, min(d.values()) if d else 0)
        v = P['wd']*s + (P['wt']/(P['kt']+tr) if tr else 0)
        tx=turns[x]
        if not tx['user']: v -= P['agent']
        if qe:
            te=set(w.rstrip("'s") for w in words(tx['text']))
            v += P['ent']*len(qe & te)/len(qe)
        if mo:
            dt=datetime.datetime.utcfromtimestamp(tx['date'])
            if (dt.month,dt.year)==mo: v+=P['month']
        if hi>lo: v += (P['recent_cue'] if recent else P['recent'])*(tx['date']-lo)/(hi-lo)
        sc[x]=v
    return sorted(sc,key=lambda x:(-sc[x],-x))
def hop(q, ranked, P):
    # second retrieval: entities of the top results not in the query, matched in the conversation
    if not ranked: return ranked
    qe=entities(q['question'])
    new=set()
    for x in ranked[:P['hops']]:
        new |= entities(turns[x]['text'])-qe
    if not new: return ranked
    conv=byconv[q['conversation']]
    second=[t['turn'] for t in conv if t['user'] and (new & set(w.rstrip("'s") for w in words(t['text']))) and t['turn'] not in ranked[:P['hops']]]
    # second-hop hits must also share a content word with the query
    qw=set(words(q['question']))-STOP
    second=[x for x in second if qw & set(words(turns[x]['text']))]
    out=ranked[:P['hops']]+[x for x in second]+[x for x in ranked[P['hops']:] if x not in second]
    return out
base=dict(wd=1.0,wt=1.0,kt=5,agent=0.0,ent=0.0,month=0.0,recent=0.0,recent_cue=0.0,hops=1)
print('--- ablation final')
steps=[('score',dict(agent=0,ent=0,month=0,recent=0,recent_cue=0)),('+agent',dict(agent=0.5,ent=0,month=0,recent=0,recent_cue=0)),('+ent',dict(agent=0.5,ent=0.3,month=0,recent=0,recent_cue=0)),('+month',dict(agent=0.5,ent=0.3,month=0.5,recent=0,recent_cue=0)),('+cue',dict(agent=0.5,ent=0.3,month=0.5,recent=0,recent_cue=0.3)),('+general recency',dict(agent=0.5,ent=0.3,month=0.5,recent=0.05,recent_cue=0.3))]
for name,ch in steps:
    P=dict(base,**ch)
    for depth in (20,50):
        L=[scored(dict(q,bm25=q['bm25'][:depth],dense=q['dense'][:depth]),P) for q in qs]
        print(name,depth,recall(L,1)['all'],recall(L,10)['all'])
L=[rrf(dict(q,bm25=q['bm25'][:20],dense=q['dense'][:20])) for q in qs]; print('rrf20',recall(L,1)['all'],recall(L,10)['all'])
