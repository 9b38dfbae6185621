use pg_hba::supabase_default_hardened;

#[test]
fn supabase_default_hardened_golden() {
    let (text, warnings) = supabase_default_hardened().unwrap();
    println!("{text}");
    let golden = "\
# trust local connections
local all  supabase_admin     scram-sha-256
local all  all                peer map=supabase_map
host  all  all  127.0.0.1/32  trust
host  all  all  ::1/128       trust

# IPv4 external connections
host  all  all  10.0.0.0/8  scram-sha-256
host  all  all  172.16.0.0/12  scram-sha-256
host  all  all  192.168.0.0/16  scram-sha-256
hostssl  all  all  0.0.0.0/0     scram-sha-256

# IPv6 external connections
hostssl  all  all  ::0/0     scram-sha-256
hostnossl all all  0.0.0.0/0 reject
hostnossl all all  ::/0      reject
";
    assert_eq!(text, golden);
    assert!(warnings.is_empty(), "{warnings:?}");
}
